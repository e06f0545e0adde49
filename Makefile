# Two commands set everything up on a fresh machine (Debian/Ubuntu, Python >= 3.10):
#   make sketch [PHOTO=cat.jpg] the main job (creates .venv, installs clipsketch, sketches the photo into out/)
#   make test                   the tests (also installs the Debian packages they need)
#   make test-quick             the tests that need neither Inkscape nor apt
#   make check-image            build the server image and check it as operators run it (podman; deploy/check-image)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
TEST_APT_PACKAGES := libcairo2 chromium chromium-driver inkscape xvfb xauth xdotool openssl procps python3-lxml python3-numpy python3-cssselect python3-scour python3-gi python3-gi-cairo gir1.2-gtk-3.0
IMAGE_CHECK_APT_PACKAGES := podman runc debootstrap netavark aardvark-dns iptables catatonit uidmap
PHOTO ?=
ARGS ?=

.PHONY: install sketch test test-quick check-image bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[mask,test]'
	# inkex for the extension's tests (PyPI's declares PyGObject, a source build it does not need here)
	$(PY) -m pip install --quiet --no-deps 'inkex==1.4.1'
	$(PY) -m pip install --quiet 'tinycss2>=1' 'cssselect>=1.2' 'pyparsing>=3'
	rm -f $(VENV)/.installed-*
	touch $@

# Without PHOTO: a demo on two pictures of scikit-image's gallery that read at a glance, the horse and the cup (4, 8
# and 16 strokes, the fast schedule: about 4 minutes on a 2-core CPU after the install).
sketch: $(STAMP)
ifeq ($(PHOTO),)
	$(PY) -c "import skimage.data, PIL.Image, pathlib; pathlib.Path('out').mkdir(exist_ok=True); PIL.Image.fromarray(skimage.data.horse()).convert('RGB').save('out/horse.png'); PIL.Image.fromarray(skimage.data.coffee()).save('out/cup.png')"
	$(VENV)/bin/clipsketch sketch out/horse.png --strokes 4 8 16 $(ARGS)
	$(VENV)/bin/clipsketch sketch out/cup.png --strokes 4 8 16 $(ARGS)
else
	$(VENV)/bin/clipsketch sketch $(PHOTO) $(ARGS)
endif

test: $(STAMP)
	scripts/install-system-packages $(TEST_APT_PACKAGES)
	$(PY) -m pytest

# The tests that need neither Inkscape nor Debian packages, and no slow end-to-end runs (a few minutes here).
test-quick: $(STAMP)
	$(PY) -m pytest -m "not slow and not system"

# About 7 minutes from cold here (a local Debian base, a 6.7 GB image), 2 once the base and the torch layer are kept.
check-image: $(STAMP)
	scripts/install-system-packages $(IMAGE_CHECK_APT_PACKAGES)
	$(PY) deploy/check-image

bench: $(STAMP)
	$(PY) benchmarks/raster.py

clean:
	rm -rf $(VENV) out
