"""The Inkscape extension's folder, as it ships (``clipsketch inkscape package`` zips it, ``install`` copies it):
package data of the wheel. Its code runs in Inkscape's own Python, never imported from clipsketch."""
