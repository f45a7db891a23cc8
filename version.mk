# The release version of mempin, for every Makefile that needs it (the
# top-level one, lib/ for libmempin.pc, tools/ for mempinctl --version,
# debian/rules):  include path/to/version.mk, then use $(MEMPIN_VERSION).
# Its one source is MODULE_VERSION in module/main.c: the module must carry it
# itself, since DKMS builds module/ alone.  The library's soname and file
# version (lib/Makefile) are separate: they follow its ABI, not releases.
MEMPIN_VERSION := $(shell sed -n 's/^MODULE_VERSION("\([^"]*\)");.*/\1/p' \
	$(dir $(lastword $(MAKEFILE_LIST)))module/main.c)
