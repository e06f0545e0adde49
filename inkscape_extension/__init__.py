"""The Inkscape extension: the ``.inx``, a thin entry script, the placement math and the install command.

Importable without Inkscape; the entry script needs only the standard library and inkex.
"""
