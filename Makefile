# mempin: top-level entry points.  See README.md.
KERNEL ?= bookworm
KDIR ?= /lib/modules/$(shell uname -r)/build
PREFIX ?= /usr/local

.PHONY: all module lib tools man clean deps check check-matrix demo lint bench fuzz

# User space only: it must build where no kernel headers are (a container,
# a chroot, CI).  The module is built by make module here, by DKMS on
# installed systems and by tests/guest/ for the guests' kernels.
all: lib tools man

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR)/module modules

lib:
	$(MAKE) -C lib

tools: lib
	$(MAKE) -C tools

man:
	$(MAKE) -C man

# Installs every build and test dependency from Debian's archive (root).
deps:
	bash tests/guest/deps.sh

# The guest targets build with warnings as errors (tests/guest/lib.sh says
# so too, for direct runs); WERROR=0 turns it off.  Target-specific, so the
# lib prerequisite gets it as well.
check check-matrix demo bench fuzz check-debug: export WERROR ?= 1

# The library's own checks (exports, headers, ABI against lib/libmempin.abi)
# first, without a guest; then builds module (for the guest kernel), lib and
# tests, runs the Check suite in a QEMU guest of Debian $(KERNEL)'s kernel.
check: lib
	$(MAKE) -C lib check
	bash tests/guest/check.sh $(KERNEL)

# The same on every supported Debian kernel, with a summary table, and on
# the newest Debian kernel anywhere (experimental): an early-warning row
# that never fails the target.
check-matrix: lib
	bash tests/guest/matrix.sh

demo: lib
	bash tests/guest/demo.sh $(KERNEL)

# Everything any target builds, make deb's build/ and what dpkg-buildpackage
# leaves in debian/ when run in the tree itself (debian/rules clean runs this).
clean:
	-$(MAKE) -C lib clean
	-$(MAKE) -C tools clean
	-$(MAKE) -C tools/bench clean
	-$(MAKE) -C tests clean
	-$(MAKE) -C tests/fuzz clean
	rm -rf module/*.o module/*.ko module/*.mod* module/.*.cmd module/Module.symvers \
		module/modules.order module/.tmp_versions module/probes/build \
		module/compat_probed.h module/.*.d
	rm -rf build debian/.debhelper debian/tmp debian/files debian/*.substvars \
		debian/*.debhelper debian/*.debhelper.log debian/debhelper-build-stamp \
		debian/mempin-dkms debian/mempin-tools debian/libmempin1 debian/libmempin-dev \
		debian/mempin-dkms.mempin-cgroup-budgets.service

lint:
	bash tests/lint/run.sh

# The benchmark of issue 7 in a QEMU guest of $(KERNEL) (one vCPU, icount):
# tests/bench/results/$(KERNEL)/{results.md,results.csv,memory.csv,plot.png}.
bench: lib
	bash tests/bench/bench.sh $(KERNEL)

# --- Installing and packaging (README "Installing") ------------------------
# One version for the DKMS source tree, dkms.conf and the packages
# (debian/rules checks debian/changelog against it): see version.mk.
include version.mk
MULTIARCH := $(shell dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || \
	$(CC) -print-multiarch 2>/dev/null)
LIBDIR ?= $(PREFIX)/lib$(if $(MULTIARCH),/$(MULTIARCH))
INCLUDEDIR ?= $(PREFIX)/include
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/mempin
# Where udev and systemd-sysusers look, whatever PREFIX is (not $(PREFIX)/etc,
# not /etc: that belongs to the administrator).  DKMS wants /usr/src.
UDEVRULESDIR ?= /usr/lib/udev/rules.d
SYSUSERSDIR ?= /usr/lib/sysusers.d
# mempin-cgroup-budgets.service, which udev starts (60-mempin.rules).  Empty:
# not installed (debian/rules: dh_installsystemd installs it).
SYSTEMDUNITDIR ?= /usr/lib/systemd/system
CGUNIT = mempin-cgroup-budgets.service
DKMSSRCDIR = /usr/src/mempin-$(MEMPIN_VERSION)
# The DKMS source: dkms.conf, module/ without build products, uapi/.
DKMS_FILES = $(filter-out module/compat_probed.h module/%.mod.c, \
	$(wildcard module/Kbuild module/Makefile module/*.[ch] \
	module/probes/*.[ch] module/probes/*.sh uapi/linux/*.h))
EXAMPLES = modules-load.d modprobe.d limits.d
# And examples/mempin/cgroup-budgets.conf, for /etc/mempin/ (mempinctl cgroup apply).
CGEXAMPLE = $(DOCDIR)/examples/mempin/cgroup-budgets.conf
DEB_OUT ?= $(CURDIR)/build/deb
LINTIAN ?= lintian
INSTALL_DIRS = DESTDIR="$(DESTDIR)" PREFIX="$(PREFIX)" LIBDIR="$(LIBDIR)" \
	INCLUDEDIR="$(INCLUDEDIR)" MANDIR="$(MANDIR)" BINDIR="$(BINDIR)"

.PHONY: install install-files install-system install-preflight uninstall \
	deb check-install

# sudo make install: files, then DKMS (build for the running kernel), group,
# udev, ldconfig.  With DESTDIR only the files, staged, touching nothing else.
install:
ifeq ($(DESTDIR),)
	@$(MAKE) --no-print-directory install-preflight
endif
	@$(MAKE) --no-print-directory install-files
ifeq ($(DESTDIR),)
	@$(MAKE) --no-print-directory install-system
endif

install-preflight:
	@[ -n "$(MEMPIN_VERSION)" ] || { echo "no MODULE_VERSION in module/main.c" >&2; exit 1; }
	@[ "$$(id -u)" = 0 ] || { echo "make install: run it as root (sudo make install)," \
		"or stage the files with make install DESTDIR=..." >&2; exit 1; }
	@command -v dkms >/dev/null || { echo "make install: dkms is missing" \
		"(Debian: sudo apt install dkms linux-headers-amd64)" >&2; exit 1; }
	@if dpkg-query -W -f='$${Status}\n' mempin-dkms 2>/dev/null | grep -q ' installed$$'; then \
		echo "make install: the mempin-dkms package is installed; use the" \
			"packages (make deb) or remove them first, not both" >&2; exit 1; fi

install-files: lib
	@[ -n "$(MEMPIN_VERSION)" ] || { echo "no MODULE_VERSION in module/main.c" >&2; exit 1; }
	$(MAKE) -C lib install $(INSTALL_DIRS)
	$(MAKE) -C man install $(INSTALL_DIRS)
	@# Hook for tools/ (mempinctl): installed when its Makefile can.
	if grep -q '^install:' tools/Makefile; then $(MAKE) -C tools install $(INSTALL_DIRS); fi
	install -d "$(DESTDIR)$(UDEVRULESDIR)" "$(DESTDIR)$(SYSUSERSDIR)"
	install -m 0644 udev/60-mempin.rules "$(DESTDIR)$(UDEVRULESDIR)/60-mempin.rules"
	install -m 0644 udev/mempin.sysusers "$(DESTDIR)$(SYSUSERSDIR)/mempin.conf"
	for d in $(EXAMPLES); do \
		install -D -m 0644 udev/$${d%.d}.conf "$(DESTDIR)$(DOCDIR)/examples/$$d/mempin.conf" || exit; \
	done
	install -D -m 0644 udev/cgroup-budgets.conf "$(DESTDIR)$(CGEXAMPLE)"
	if [ -n "$(SYSTEMDUNITDIR)" ]; then \
		install -d "$(DESTDIR)$(SYSTEMDUNITDIR)" && \
		sed 's|@BINDIR@|$(BINDIR)|g' udev/$(CGUNIT).in >"$(DESTDIR)$(SYSTEMDUNITDIR)/$(CGUNIT)" && \
		chmod 0644 "$(DESTDIR)$(SYSTEMDUNITDIR)/$(CGUNIT)"; fi
	rm -rf "$(DESTDIR)$(DKMSSRCDIR)"
	for f in $(DKMS_FILES); do \
		case $$f in *.sh) m=0755;; *) m=0644;; esac; \
		install -D -m $$m "$$f" "$(DESTDIR)$(DKMSSRCDIR)/$$f" || exit; \
	done
	sed 's/#MODULE_VERSION#/$(MEMPIN_VERSION)/' dkms.conf >"$(DESTDIR)$(DKMSSRCDIR)/dkms.conf"
	chmod 0644 "$(DESTDIR)$(DKMSSRCDIR)/dkms.conf"

# Runs once the files are in place (never with DESTDIR).  Older versions that
# make install registered (not the packages') go, so an upgrade is simply
# sudo make install from the newer tree.
install-system:
	@set -e; v=$(MEMPIN_VERSION); kver=$$(uname -r); \
	for d in /usr/src/mempin-*; do \
		[ -d "$$d" ] && [ "$$d" != "$(DKMSSRCDIR)" ] || continue; \
		! dpkg -S "$$d" >/dev/null 2>&1 || continue; \
		echo "removing mempin $${d#/usr/src/mempin-}, installed before by make install"; \
		dkms remove -m mempin -v "$${d#/usr/src/mempin-}" --all >/dev/null 2>&1 || true; \
		rm -rf "$$d"; \
	done; \
	if getent group mempin >/dev/null; then :; \
	elif command -v systemd-sysusers >/dev/null; then \
		systemd-sysusers $(SYSUSERSDIR)/mempin.conf; \
	else groupadd --system mempin; fi; \
	ldconfig; \
	if [ -n "$$(dkms status -m mempin -v $$v 2>/dev/null)" ]; then \
		dkms remove -m mempin -v $$v --all >/dev/null; fi; \
	dkms add -m mempin -v $$v; \
	if [ -f /lib/modules/$$kver/build/Makefile ]; then \
		dkms install -m mempin -v $$v -k $$kver || { rc=$$?; \
		[ $$rc = 77 ] || exit $$rc; \
		echo "NOTE: DKMS skipped $$kver: mempin builds for x86_64 kernels from 5.10 on"; }; \
	else \
		echo "NOTE: no headers for the running kernel $$kver" \
			"(/lib/modules/$$kver/build): mempin is registered with DKMS" \
			"but not built.  Install the headers (Debian: sudo apt install" \
			"linux-headers-$$kver); DKMS then builds it by itself."; \
	fi; \
	if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then \
		systemctl daemon-reload; fi; \
	if [ -S /run/udev/control ] && command -v udevadm >/dev/null; then \
		udevadm control --reload; \
		[ ! -e /sys/class/misc/mempin ] || \
		udevadm trigger --action=change --subsystem-match=misc --sysname-match=mempin; \
	fi; \
	if [ -e /sys/module/mempin ] && [ "$$(cat /sys/module/mempin/version 2>/dev/null)" != "$$v" ]; then \
		echo "NOTE: another mempin is loaded; to switch: sudo modprobe -r mempin && sudo modprobe mempin"; fi; \
	echo "mempin $$v installed.  Load it: sudo modprobe mempin.  Give a user" \
		"access: sudo usermod -aG mempin USER (new login).  See README.md."

# Removes what make install installed (same PREFIX and the like) and the
# DKMS registration of every version it registered; unloads the module when
# nothing uses it.  Group mempin stays (files or users may still refer to it):
# groupdel mempin removes it.
uninstall:
ifeq ($(DESTDIR),)
	@[ "$$(id -u)" = 0 ] || { echo "make uninstall: run it as root (sudo make uninstall)" >&2; exit 1; }
	@# Unloaded first, while modprobe still finds the module's file.
	@if [ -e /sys/module/mempin ]; then \
		if modprobe -r mempin 2>/dev/null || rmmod mempin 2>/dev/null; then \
			echo "unloaded mempin"; \
		else echo "NOTE: mempin is in use and stays loaded until: sudo rmmod mempin"; fi; fi
	@for d in /usr/src/mempin-*; do \
		[ -d "$$d" ] || continue; \
		if dpkg -S "$$d" >/dev/null 2>&1; then \
			echo "leaving $$d: it belongs to the mempin-dkms package"; continue; fi; \
		if command -v dkms >/dev/null; then \
			echo "dkms remove -m mempin -v $${d#/usr/src/mempin-} --all"; \
			dkms remove -m mempin -v "$${d#/usr/src/mempin-}" --all >/dev/null 2>&1 || true; fi; \
		echo "rm -rf $$d"; rm -rf "$$d"; \
	done
else
	rm -rf "$(DESTDIR)$(DKMSSRCDIR)"
endif
	$(MAKE) -C lib uninstall $(INSTALL_DIRS)
	$(MAKE) -C man uninstall $(INSTALL_DIRS)
	if grep -q '^uninstall:' tools/Makefile; then $(MAKE) -C tools uninstall $(INSTALL_DIRS); fi
	rm -f "$(DESTDIR)$(UDEVRULESDIR)/60-mempin.rules" "$(DESTDIR)$(SYSUSERSDIR)/mempin.conf"
	if [ -n "$(SYSTEMDUNITDIR)" ]; then rm -f "$(DESTDIR)$(SYSTEMDUNITDIR)/$(CGUNIT)"; fi
	for d in $(EXAMPLES); do rm -f "$(DESTDIR)$(DOCDIR)/examples/$$d/mempin.conf"; \
		rmdir "$(DESTDIR)$(DOCDIR)/examples/$$d" 2>/dev/null || true; done
	rm -f "$(DESTDIR)$(CGEXAMPLE)"
	rmdir "$(DESTDIR)$(patsubst %/,%,$(dir $(CGEXAMPLE)))" 2>/dev/null || true
	@# Directories make install created, once empty (never $(PREFIX)/lib itself).
	-@cd "$(DESTDIR)/" && for d in $(DOCDIR)/examples $(DOCDIR) $(dir $(DOCDIR)) \
		$(LIBDIR)/pkgconfig $(filter-out $(PREFIX)/lib,$(LIBDIR)) \
		$(INCLUDEDIR)/mempin/linux $(INCLUDEDIR)/mempin \
		$(MANDIR)/man3 $(MANDIR)/man4 $(MANDIR)/man8; do \
		[ ! -d ".$$d" ] || rmdir ".$$d" 2>/dev/null || true; done
ifeq ($(DESTDIR),)
	@ldconfig
	@if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then systemctl daemon-reload; fi
	@if [ -S /run/udev/control ] && command -v udevadm >/dev/null; then udevadm control --reload; fi
	@! getent group mempin >/dev/null || echo "group mempin kept (groupdel mempin removes it)"
endif

# Debian packages mempin-dkms, libmempin1, libmempin-dev, mempin-tools into
# $(DEB_OUT), built from a copy of the git-visible tree (the source tree stays
# clean), then checked with lintian (LINTIAN= skips it; errors fail).
deb:
	@[ -n "$(MEMPIN_VERSION)" ] || { echo "no MODULE_VERSION in module/main.c" >&2; exit 1; }
	rm -rf "$(DEB_OUT)/src"
	rm -f "$(DEB_OUT)"/*mempin*_*.deb "$(DEB_OUT)"/mempin_*.changes "$(DEB_OUT)"/mempin_*.buildinfo
	mkdir -p "$(DEB_OUT)/src/mempin-$(MEMPIN_VERSION)"
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
		git ls-files -z -co --exclude-standard | \
		tar --null -T - -cf - | tar -C "$(DEB_OUT)/src/mempin-$(MEMPIN_VERSION)" -xf -; \
	else \
		tar --exclude=./build --exclude=./.git -cf - . | \
		tar -C "$(DEB_OUT)/src/mempin-$(MEMPIN_VERSION)" -xf -; \
	fi
	cd "$(DEB_OUT)/src/mempin-$(MEMPIN_VERSION)" && dpkg-buildpackage -b -us -uc
	mv "$(DEB_OUT)"/src/*.deb "$(DEB_OUT)"/src/*.changes "$(DEB_OUT)"/src/*.buildinfo "$(DEB_OUT)/"
	rm -rf "$(DEB_OUT)/src"
	@if [ -n "$(LINTIAN)" ]; then \
		echo "$(LINTIAN) --fail-on error --display-info $(DEB_OUT)/mempin_*.changes"; \
		rc=0; $(LINTIAN) --fail-on error --display-info "$(DEB_OUT)"/mempin_*.changes \
			>"$(DEB_OUT)/lintian.txt" 2>&1 || rc=$$?; \
		cat "$(DEB_OUT)/lintian.txt"; [ $$rc = 0 ] || exit $$rc; \
		echo "lintian: no errors ($$(grep -c '^W:' "$(DEB_OUT)/lintian.txt") warnings)"; fi
	@ls -1 "$(DEB_OUT)"/*.deb

# The whole install path in a booted Debian bookworm guest (systemd, udev,
# DKMS): packages and make install, group access, limits, reboot, upgrade,
# purge.  Exit status: 0 pass, else fail.
check-install:
	bash tests/install/check-install.sh

# --- Hostile input (issue 5) -----------------------------------------------
.PHONY: check-debug

# The ioctl fuzzer, race storm, limits and OOM phases in a guest of
# $(KERNEL)'s stock kernel; short by default (CI), see tests/fuzz/main.c.
fuzz:
	bash tests/guest/fuzz.sh $(KERNEL)

# Builds once (cached) debug kernels of the newest Debian kernel source:
# DEBUG=kasan (KASAN/KMEMLEAK/lockdep/UBSAN/GCOV/fault injection: Check,
# the long fuzz and the fail-nth harness, kmemleak, line and branch
# coverage of module/*.c with an HTML report in build/coverage-kasan/),
# DEBUG=kcsan (KCSAN: Check and the fuzz's storm and limits, no data race
# naming mempin); both by default, one after the other.  DEBUG=kasan61:
# the first debug kernel, from linux-source-6.1.  See tests/guest/README.md.
DEBUG ?= kasan kcsan
check-debug: lib
	bash tests/guest/check-debug.sh $(DEBUG)
