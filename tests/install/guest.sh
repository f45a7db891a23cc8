#!/bin/bash
# Runs inside the check-install guest (Debian bookworm booted with systemd),
# as root, from the payload disk, at the end of every boot
# (mempin-payload.service).  What an administrator and a user do:
#
# boot 1  A. make install from the source tree (DKMS build for the running
#            kernel, lib in the multiarch libdir, group, udev), use it;
#            a newer kernel (NEW_KVER, bookworm-backports) with its headers:
#            DKMS builds mempin for it in the kernel's installation; opt
#            in to loading at boot; reboot into the newer kernel.
# boot 1b A3. make install's module loaded at boot there; use it; doctor
#            all ok; reboot into the old kernel (named, as grub-reboot).
# boot 1c A4. purge the newer kernel: its build goes with it; make
#            uninstall: nothing may be left.
#         B. the packages of version A (apt install ./*.deb): DKMS builds
#            through the package's hooks, sysusers makes the group; use it;
#            opt in to loading at boot (modules-load.d).
#         F. the newer kernel without its headers: its installation works,
#            DKMS cannot build; reboot into it (the newest kernel).
# boot 2  G. no mempin at boot; doctor says the headers are missing and
#            what to install; installing them makes DKMS build it; reboot.
# boot 3  C. loaded at boot on the new kernel, udev set the node up; use
#            it; doctor all ok.
#         D. upgrade to the packages of version B (built for both kernels);
#            reload; use it.
#         H. remove the old kernel: its DKMS build goes with it; reboot with
#            lockdown=integrity (what Secure Boot turns on).
# boot 4  I. lockdown: the kernel refuses the DKMS-signed module, whose key
#            it does not hold; doctor says so, the kernel's reason, the fix.
#         E. purge: nothing may be left.
# The Secure Boot run (check-install.sh boots a fresh copy of the image
# through OVMF, shim and grub, with mempin_check=secureboot):
# boot 1  S. Secure Boot on, lockdown; the packages: DKMS builds and signs
#            with its key, which the firmware does not hold: modprobe
#            fails, doctor says why and the fix; hand DKMS's key to the
#            host, which enrolls it in MokList (as MokManager would).
# boot 2  T. the key enrolled: mempin loads at boot; use it; doctor all ok.
# "Use it": modprobe, /dev/mempin root:mempin 0660, a user in group mempin
# compiles pin-check.c with pkg-config and pins up to RLIMIT_MEMLOCK (set
# through limits.d) and gets ENOMEM one page past it, a user outside the
# group gets EACCES, man 4 mempin renders.
# Reboots go through check-install.sh, the boot loader: reboot_into.
#
# Prints "mempin-install: ok|FAIL - ..." lines, then MEMPIN-INSTALL: PASS or
# MEMPIN-INSTALL: FAIL (N checks), and powers off; or MEMPIN-INSTALL: REBOOT
# and reboots.
# Functions run through check and step look unreachable to shellcheck.
# shellcheck disable=SC2317
set -uo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8
P=/run/mempin-payload	# the payload disk (read-only)
S=/var/lib/mempin-check	# state that survives the reboot
W=/tmp/mempin-check	# scratch
# shellcheck source=/dev/null
. "$P/versions.env"	# VERSION_A VERSION_B NEW_KVER SKIP_SOURCE
KVER=$(uname -r)
MULTIARCH=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
LIMIT_KB=2048		# RLIMIT_MEMLOCK given to group mempin through limits.d
mkdir -p "$S" "$W"
chmod 0755 "$W"

say() { echo "mempin-install: $*"; }
ok() { say "ok   - $*"; }
bad() {
	say "FAIL - $*"
	echo "$*" >>"$S/failures"
}
show() { sed 's/^/    | /' "$@"; }

# check DESCRIPTION COMMAND...: one check; the command's output on failure.
check() {
	local d=$1
	shift
	if "$@" >"$W/out" 2>&1; then
		ok "$d"
		return 0
	fi
	bad "$d"
	tail -n 25 "$W/out" | show
	return 1
}

# step DESCRIPTION COMMAND...: an action that must work, timed, with the
# end of its output on failure.
step() {
	local d=$1 t0=$SECONDS rc=0
	shift
	"$@" >"$W/step.log" 2>&1 || rc=$?
	if ((rc == 0)); then
		ok "$d ($((SECONDS - t0)) s)"
	else
		bad "$d (exit status $rc)"
		tail -n 40 "$W/step.log" | show
	fi
	return $rc
}

finish() {
	local n=0
	[[ -f $S/failures ]] && n=$(wc -l <"$S/failures")
	if ((n == 0)); then
		echo "MEMPIN-INSTALL: PASS"
	else
		echo "MEMPIN-INSTALL: FAIL ($n checks)"
		sed 's/^/  failed: /' "$S/failures"
	fi
	sync
	trap - ERR
	# (What systemctl poweroff does when there is no logind on D-Bus.)
	systemctl --no-block --job-mode=replace-irreversibly start poweroff.target
	exit 0
}

# A script error must still end in a verdict, not a guest left running.
trap 'bad "guest.sh stopped unexpectedly (line $LINENO)"; finish' ERR

# --- what the checks look at ----------------------------------------------------

# Every path on the root file system but the churn of a running system, the
# package manager's own books (dpkg's list of what is installed is checked
# separately) and the key DKMS makes at its first build to sign every
# module it builds from then on, mempin's or not.
snapshot() {
	find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /run \
		-o -path /tmp -o -path /var/tmp -o -path /var/log -o -path /var/cache \
		-o -path /var/lib/apt -o -path /var/lib/dpkg -o -path /var/lib/systemd \
		-o -path /var/lib/private -o -path /var/spool -o -path /root \
		-o -path /var/lib/dkms/mok.key -o -path /var/lib/dkms/mok.pub \
		-o -path "$S" \) -prune -o -print | LC_ALL=C sort >"$S/snapshot.$1"
}

# Every file of the installed packages, as installed (merged /usr).
package_files() {
	cat /var/lib/dpkg/info/*.list |
		sed -E 's#^/(lib|lib64|bin|sbin)(/|$)#/usr/\1\2#' | LC_ALL=C sort -u
}

# Paths present now that were not at snapshot NAME, but those of packages
# installed since (a kernel) and what a kernel's installation generates.
nothing_new_since() {
	local new
	snapshot now
	package_files >"$S/package-files"
	new=$(LC_ALL=C comm -13 "$S/snapshot.$1" "$S/snapshot.now" |
		LC_ALL=C comm -23 - "$S/package-files" |
		grep -Ev '^/boot/initrd\.img-|^/usr/lib/modules/[^/]+/modules\.|^/var/lib/initramfs-tools/' || true)
	[[ -z $new ]] || {
		echo "left behind:"
		echo "$new"
		return 1
	}
}

dkms_state() { dkms status -m mempin -v "$1" -k "${2:-$KVER}" 2>&1; }
# dkms_installed VERSION [KVER]
dkms_installed() {
	dkms_state "$@"
	dkms_state "$@" | grep -q ': installed'
}
dkms_none_for() {
	dkms status -m mempin -k "$1" 2>&1
	! dkms status -m mempin -k "$1" 2>&1 | grep -E ': (built|installed)'
}
# Nothing of mempin for kernel KVER under /lib/modules or /var/lib/dkms.
no_mempin_for() {
	find /lib/modules/"$1" /var/lib/dkms -name "mempin*" -path "*$1*" 2>/dev/null
	[[ -z $(find /lib/modules/"$1" /var/lib/dkms -path "*$1*" -name "mempin*" 2>/dev/null) ]] &&
		dkms_none_for "$1"
}
kernel_installed() {
	dpkg-query -W -f='${db:Status-Abbrev} ${Package} ${Version}\n' "linux-image-$1"
	[[ $(dpkg-query -W -f='${db:Status-Abbrev}' "linux-image-$1") == "ii " ]] &&
		test -f "/boot/vmlinuz-$1" -a -f "/boot/initrd.img-$1"
}
pkg_names() { for d in "$@"; do dpkg-deb -f "$d" Package; done; }

# mempinctl doctor as root: the text shown as it is, then its JSON says
# check CHECK's result and reason are RESULT and REASON, and the text
# holds FIX.
doctor_says() {
	local check=$1 result=$2 reason=$3 fix=$4
	mempinctl doctor >"$W/doctor.txt" 2>&1
	cat "$W/doctor.txt"
	mempinctl --json doctor >"$W/doctor.json" 2>&1
	perl -MJSON::PP -e 'local $/; my $j = decode_json(<STDIN>); my $c = $j->{checks}{$ARGV[0]};
		print "json: checks.$ARGV[0]: $c->{result} $c->{reason}\n";
		exit !($c->{result} eq $ARGV[1] && $c->{reason} eq $ARGV[2])' \
		"$check" "$result" "$reason" <"$W/doctor.json" &&
		grep -F -- "$fix" "$W/doctor.txt"
}
modprobe_refused() {
	local rc=0
	modprobe mempin >"$W/modprobe.out" 2>&1 || rc=$?
	cat "$W/modprobe.out"
	((rc != 0)) && grep -qE "Operation not permitted|Key was rejected by service" \
		"$W/modprobe.out"
}
doctor_all_ok() {
	runuser -l pinuser -c 'mempinctl doctor'
}

# reboot_into [KVER [ARGS]]: hands the boot loader (check-install.sh) the
# kernel to boot next, KVER or the newest installed (as Debian's grub),
# its initrd and extra kernel arguments; reboots.
reboot_into() {
	local k=${1:-$(linux-version list | linux-version sort | tail -n 1)} extra=${2:-}
	printf '%s\n' "$extra" >"$W/cmdline"
	tar -cf /dev/disk/by-id/virtio-mempin-boot -C /boot "vmlinuz-$k" "initrd.img-$k" \
		-C "$W" cmdline || {
		bad "handing vmlinuz-$k to the boot loader"
		finish
	}
	sync
	say "rebooting into $k${extra:+ with $extra}"
	echo "MEMPIN-INSTALL: REBOOT"
	trap - ERR
	systemctl --no-block --job-mode=replace-irreversibly start reboot.target
	exit 0
}
no_dkms_mempin() {
	dkms status 2>&1
	[[ -z $(dkms status -m mempin 2>/dev/null) && ! -e /var/lib/dkms/mempin ]]
}
node_is() {
	local got
	udevadm settle
	got=$(stat -c '%U:%G %a %F' /dev/mempin)
	echo "/dev/mempin: $got"
	[[ $got == "$1" ]]
}
is_in_group() { id -nG "$1" | tr ' ' '\n' | grep -qx "$2"; }
modinfo_version() {
	modinfo -F version mempin
	[[ $(modinfo -F version mempin) == "$1" ]]
}
loaded_version() {
	cat /sys/module/mempin/version
	[[ $(cat /sys/module/mempin/version) == "$1" ]]
}

# Compiled as the user, the way README tells users to.
user_compiles() {
	rm -rf "$W/u"
	install -d -o pinuser -m 0755 "$W/u"
	install -o pinuser -m 0644 "$P/pin-check.c" "$W/u/"
	# shellcheck disable=SC2016 # expanded by that sh
	runuser -u pinuser -- sh -c 'cd "$1" && set -x &&
		cc -O2 -Wall -Werror -o pin-check pin-check.c $(pkg-config --cflags --libs libmempin)' \
		sh "$W/u"
}
# (/lib is /usr/lib on merged-/usr systems: compare the files.)
links_lib_in() {
	local got
	ldd "$W/u/pin-check"
	got=$(ldd "$W/u/pin-check" | sed -n 's/^\tlibmempin.so.1 => \(.*\) (0x.*/\1/p')
	[[ -n $got && $(readlink -f "$got") == $(readlink -f "$1/libmempin.so.1") ]]
}

# The limits.d example, uncommented with a small limit, then the user's
# login session (runuser -l: PAM, pam_limits) runs pin-check.
limits_install() {
	sed -e 's/^#@mempin/@mempin/' -e "s/1048576\$/$LIMIT_KB/" "$1" \
		>/etc/security/limits.d/mempin.conf
	grep -v '^#' /etc/security/limits.d/mempin.conf
}
as_member() { runuser -l pinuser -c "$W/u/pin-check limit $LIMIT_KB"; }
as_outsider() { runuser -l other -c "$W/u/pin-check eacces"; }

# (/usr/local/man is /usr/local/share/man: compare real paths.)
man_renders() {
	local page
	page=$(man -w "$1" "$2") && echo "$page" &&
		[[ $(readlink -f "$page") == $(readlink -f "$3")/* ]] &&
		MANWIDTH=80 man --warnings -P cat "$1" "$2" >"$W/man.txt" 2>"$W/man.err" &&
		head -n 4 "$W/man.txt" && ! grep . "$W/man.err" &&
		grep -q '^NAME' "$W/man.txt" && head -n 1 "$W/man.txt" | grep -qi mempin
}

mempinctl_is() {
	local bin
	hash -r # forget /usr/local/bin/mempinctl of make install
	bin=$(type -P mempinctl) && echo "$bin: $(mempinctl --version)" &&
		[[ $bin == "$1"/mempinctl && $(mempinctl --version) == "mempinctl $2" ]] &&
		mempinctl status
}

# use HOW VERSION PREFIX EXAMPLES: what a user and the administrator get.
use() {
	local how=$1 version=$2 prefix=$3 examples=$4
	local libdir=$3/lib/$MULTIARCH mandir=$3/share/man
	check "$how: modprobe mempin" modprobe mempin
	check "$how: udev made /dev/mempin root:mempin 0660" \
		node_is "root:mempin 660 character special file"
	check "$how: pinuser is in group mempin, other is not" \
		eval 'is_in_group pinuser mempin && ! is_in_group other mempin'
	check "$how: pinuser compiles pin-check.c with pkg-config --cflags --libs libmempin" \
		user_compiles
	check "$how: pin-check runs against $libdir/libmempin.so.1" links_lib_in "$libdir"
	check "$how: limits.d example gives group mempin RLIMIT_MEMLOCK $LIMIT_KB KiB" \
		limits_install "$examples/limits.d/mempin.conf"
	! check "$how: member pins up to RLIMIT_MEMLOCK, one page more is ENOMEM" as_member ||
		show "$W/out"
	! check "$how: a user outside group mempin gets EACCES" as_outsider || show "$W/out"
	rm -f /etc/security/limits.d/mempin.conf
	check "$how: man 4 mempin renders from $mandir" man_renders 4 mempin "$mandir"
	check "$how: man 3 mempin_pin renders (libmempin(3))" man_renders 3 mempin_pin "$mandir"
	check "$how: man 8 mempinctl renders" man_renders 8 mempinctl "$mandir"
	check "$how: $prefix/bin/mempinctl $version: status" mempinctl_is "$prefix/bin" "$version"
}

debs() { ls "$P/$1"/*.deb; }
no_package_left() {
	! dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' | grep -i mempin | grep -v '^[up]n '
}

# On the newer kernel after a reboot: the boot loader booted it, and
# modules-load.d loaded mempin.
booted_new_kernel_with_mempin() {
	check "the boot loader booted the newest kernel, $NEW_KVER" test "$KVER" = "$NEW_KVER"
	check "modules-load.d loaded mempin at boot" \
		eval 'systemctl status --no-pager systemd-modules-load.service; test -e /sys/module/mempin'
}

# --- boot 1 ------------------------------------------------------------------------

# A: make install from the source tree, a newer kernel, make uninstall.
boot1_source() {
	local src=/root/src
	snapshot before-make-install

	say "A. make install / make uninstall (version $VERSION_A)"
	mkdir -p "$src"
	tar -C "$src" -xf "$P/src.tar"
	step "make install (builds libmempin, DKMS builds mempin.ko for $KVER)" \
		make -C "$src" install || finish
	show "$W/step.log" | grep -E 'NOTE|installed\.|dkms|DKMS' | head -n 20 || true
	check "dkms status: mempin/$VERSION_A installed for $KVER" dkms_installed "$VERSION_A"
	check "DKMS source /usr/src/mempin-$VERSION_A has dkms.conf at $VERSION_A" \
		grep -qx "PACKAGE_VERSION=\"$VERSION_A\"" "/usr/src/mempin-$VERSION_A/dkms.conf"
	check "mempin.ko in /lib/modules/$KVER/updates/dkms" \
		compgen -G "/lib/modules/$KVER/updates/dkms/mempin.ko*"
	check "modinfo mempin: version $VERSION_A" modinfo_version "$VERSION_A"
	check "group mempin exists" getent group mempin
	check "udev rule in /usr/lib/udev/rules.d, sysusers entry in /usr/lib/sysusers.d" \
		test -f /usr/lib/udev/rules.d/60-mempin.rules -a -f /usr/lib/sysusers.d/mempin.conf
	check "libmempin in /usr/local/lib/$MULTIARCH, known to ld.so" \
		eval "test -f /usr/local/lib/$MULTIARCH/libmempin.so.1 && ldconfig -p | grep -q libmempin.so.1"
	usermod -aG mempin pinuser
	use "make install" "$VERSION_A" /usr/local /usr/local/share/doc/mempin/examples

	say "A2. a newer kernel with its headers: Linux $NEW_KVER"
	# shellcheck disable=SC2046
	step "apt-get install linux-image-$NEW_KVER linux-headers-$NEW_KVER" \
		apt-get install -y --no-install-recommends $(debs kernel-image) $(debs kernel-headers) ||
		finish
	show "$W/step.log" | grep -iE 'dkms|mempin|error|warn' | head -n 20 || true
	check "dkms status: mempin/$VERSION_A installed for $NEW_KVER, by the kernel's installation" \
		dkms_installed "$VERSION_A" "$NEW_KVER"
	check "dkms status: and still for $KVER" dkms_installed "$VERSION_A" "$KVER"
	check "mempin.ko in /lib/modules/$NEW_KVER/updates/dkms" \
		compgen -G "/lib/modules/$NEW_KVER/updates/dkms/mempin.ko*"
	# Opt in to loading at boot, unload: only modules-load.d can load it.
	cp /usr/local/share/doc/mempin/examples/modules-load.d/mempin.conf /etc/modules-load.d/
	check "modprobe -r mempin" modprobe -r mempin
	echo "$KVER" >"$S/old-kver"
	echo 1b >"$S/boot"
	reboot_into
}

# A3: make install's module on the new kernel, loaded at boot.
boot1b_source() {
	local old
	old=$(cat "$S/old-kver")
	say "A3. after the reboot, on Linux $KVER (make install)"
	booted_new_kernel_with_mempin
	use "make install, Linux $KVER" "$VERSION_A" /usr/local /usr/local/share/doc/mempin/examples
	check "mempinctl doctor as pinuser: all fine" doctor_all_ok
	show "$W/out"
	echo 1c >"$S/boot"
	reboot_into "$old"
}

# A4: back on the old kernel, remove the new one, make uninstall.
boot1c_source() {
	local src=/root/src
	say "A4. back on Linux $KVER: remove Linux $NEW_KVER, make uninstall"
	check "the boot loader booted the kernel asked for, $(cat "$S/old-kver")" \
		test "$KVER" = "$(cat "$S/old-kver")"
	# shellcheck disable=SC2046
	step "apt-get purge of Linux $NEW_KVER and its headers" \
		apt-get purge -y $(pkg_names $(debs kernel-image) $(debs kernel-headers)) || true
	show "$W/step.log" | grep -iE 'dkms|mempin|error|warn' | head -n 20 || true
	check "nothing of mempin left for $NEW_KVER (/lib/modules, /var/lib/dkms, dkms status)" \
		no_mempin_for "$NEW_KVER"
	check "dkms status: mempin/$VERSION_A still installed for $KVER" dkms_installed "$VERSION_A"

	rm /etc/modules-load.d/mempin.conf
	step "make uninstall" make -C "$src" uninstall || true
	show "$W/step.log" | grep -E 'dkms|unloaded|NOTE|kept' | head -n 10 || true
	check "make uninstall unloaded the module" test ! -e /sys/module/mempin
	check "dkms knows no mempin" no_dkms_mempin
	check "no libmempin in ld.so's cache" eval '! ldconfig -p | grep libmempin'
	rm -rf "$src"
	check "make uninstall left no file behind" nothing_new_since before-make-install
	check "make uninstall kept group mempin" getent group mempin
	# So that the packages must create it themselves.
	groupdel mempin
	boot1_packages
}


boot1() {
	say "boot 1: Debian $(cat /etc/debian_version), kernel $KVER," \
		"$(systemctl --version | head -n 1), dkms $(dkms --version | awk '{print $NF}')"
	check "PID 1 is systemd" grep -qx systemd /proc/1/comm
	check "headers of the running kernel are installed" test -f "/lib/modules/$KVER/build/Makefile"
	useradd -m -s /bin/bash pinuser
	useradd -m -s /bin/bash other
	if [[ $SKIP_SOURCE == 1 ]]; then
		say "A. make install: skipped (MEMPIN_INSTALL_SKIP_SOURCE=1)"
		boot1_packages
	else
		boot1_source
	fi
}

boot1_packages() {
	say "B. packages $VERSION_A: $(debs debs-a | xargs -n1 basename | tr '\n' ' ')"
	snapshot before-packages
	# shellcheck disable=SC2046
	step "apt-get install ./*.deb (DKMS builds through the package's hooks)" \
		apt-get install -y --no-install-recommends $(debs debs-a) || finish
	show "$W/step.log" | grep -iE 'dkms|mempin|error|warn' | head -n 30 || true
	check "dkms status: mempin/$VERSION_A installed for $KVER" dkms_installed "$VERSION_A"
	check "modinfo mempin: version $VERSION_A" modinfo_version "$VERSION_A"
	check "group mempin created by the package (systemd-sysusers)" getent group mempin
	check "mempin-dkms ships the rule in /usr/lib/udev/rules.d" \
		eval 'dpkg -L mempin-dkms | grep -qx /usr/lib/udev/rules.d/60-mempin.rules'
	check "nothing active in /etc: no modules-load.d, modprobe.d or udev file" \
		eval '! dpkg -L mempin-dkms libmempin1 libmempin-dev mempin-tools | grep ^/etc'
	usermod -aG mempin pinuser
	use "packages $VERSION_A" "$VERSION_A" /usr /usr/share/doc/mempin-dkms/examples
	# Opt in to loading at boot; unload, so only that can load it.
	cp /usr/share/doc/mempin-dkms/examples/modules-load.d/mempin.conf /etc/modules-load.d/
	check "modprobe -r mempin" modprobe -r mempin

	say "F. a newer kernel without its headers: Linux $NEW_KVER"
	# shellcheck disable=SC2046
	step "apt-get install linux-image-$NEW_KVER alone (DKMS cannot build: no headers)" \
		apt-get install -y --no-install-recommends $(debs kernel-image) || finish
	show "$W/step.log" | grep -iE 'dkms|mempin|header|error|warn' | head -n 20 || true
	check "the kernel package is installed, with its initramfs" kernel_installed "$NEW_KVER"
	check "dkms status: mempin not built for $NEW_KVER" dkms_none_for "$NEW_KVER"
	echo "$KVER" >"$S/old-kver"
	echo 2 >"$S/boot"
	reboot_into
}

# --- boot 2: the new kernel, without headers ----------------------------------------

boot2() {
	say "G. booted Linux $KVER, which has no headers"
	check "the boot loader booted the newest kernel, $NEW_KVER" test "$KVER" = "$NEW_KVER"
	check "no mempin at boot: modules-load.d found no module for this kernel" \
		eval 'journalctl -b -o cat -u systemd-modules-load.service | grep -i mempin;
		test ! -e /sys/module/mempin'
	check "mempinctl doctor: headers missing, with what to install" \
		doctor_says headers fail missing "fix: sudo apt install linux-headers-$KVER"
	show "$W/doctor.txt"
	check "mempinctl doctor: DKMS did not build mempin for it, and why" \
		doctor_says dkms fail not-built "fix: sudo apt install linux-headers-$KVER"
	# shellcheck disable=SC2046
	step "apt-get install linux-headers-$KVER (doctor's fix; DKMS builds mempin)" \
		apt-get install -y --no-install-recommends $(debs kernel-headers) || finish
	show "$W/step.log" | grep -iE 'dkms|mempin|error|warn' | head -n 20 || true
	check "dkms status: mempin/$VERSION_A installed for $KVER" dkms_installed "$VERSION_A"
	check "dkms status: and for $(cat "$S/old-kver")" \
		dkms_installed "$VERSION_A" "$(cat "$S/old-kver")"
	echo 3 >"$S/boot"
	reboot_into
}

# --- boot 3: the new kernel, with mempin ---------------------------------------------

boot3() {
	local old
	old=$(cat "$S/old-kver")
	say "C. after the reboot, on Linux $KVER"
	booted_new_kernel_with_mempin
	check "dkms status: mempin/$VERSION_A still installed" dkms_installed "$VERSION_A"
	use "Linux $KVER" "$VERSION_A" /usr /usr/share/doc/mempin-dkms/examples
	check "mempinctl doctor as pinuser: all fine" doctor_all_ok
	show "$W/out"

	say "D. upgrade to $VERSION_B"
	# shellcheck disable=SC2046
	step "apt-get install ./*.deb of $VERSION_B (upgrade)" \
		apt-get install -y --no-install-recommends $(debs debs-b) || finish
	show "$W/step.log" | grep -iE 'dkms|mempin|error|warn' | head -n 30 || true
	check "dkms status: mempin/$VERSION_B installed for $KVER" dkms_installed "$VERSION_B"
	check "dkms status: and for $old" dkms_installed "$VERSION_B" "$old"
	check "dkms status: mempin/$VERSION_A gone" test -z "$(dkms status -m mempin -v "$VERSION_A")"
	check "/usr/src/mempin-$VERSION_A gone, /usr/src/mempin-$VERSION_B there" \
		test ! -e "/usr/src/mempin-$VERSION_A" -a -f "/usr/src/mempin-$VERSION_B/dkms.conf"
	check "modinfo mempin: version $VERSION_B" modinfo_version "$VERSION_B"
	check "the loaded module stays $VERSION_A until reloaded" loaded_version "$VERSION_A"
	check "reload: modprobe -r mempin && modprobe mempin" \
		eval 'modprobe -r mempin && modprobe mempin'
	check "loaded module: version $VERSION_B" loaded_version "$VERSION_B"
	use "upgraded to $VERSION_B" "$VERSION_B" /usr /usr/share/doc/mempin-dkms/examples

	say "H. remove the old kernel, Linux $old"
	step "apt-get purge linux-image-$old linux-headers-$old" \
		apt-get purge -y "linux-image-$old" "linux-headers-$old" || true
	show "$W/step.log" | grep -iE 'dkms|mempin|error|warn|remov' | head -n 20 || true
	check "nothing of mempin left for $old (/lib/modules, /var/lib/dkms, dkms status)" \
		no_mempin_for "$old"
	check "dkms status: mempin/$VERSION_B still installed for $KVER" \
		dkms_installed "$VERSION_B"
	echo 4 >"$S/boot"
	reboot_into "$KVER" lockdown=integrity
}

# --- boot 4: lockdown ------------------------------------------------------------------

boot4() {
	local lsm
	say "I. Linux $KVER with lockdown=integrity"
	check "the kernel is in lockdown (integrity)" \
		eval 'cat /sys/kernel/security/lockdown; grep -q "\[integrity\]" /sys/kernel/security/lockdown'
	check "mempin.ko is signed, by DKMS's key" \
		eval 'modinfo -F signer mempin; modinfo -F sig_id mempin | grep -q .'
	check "the kernel refused mempin at boot" \
		eval 'journalctl -b -o cat -u systemd-modules-load.service | grep -i mempin;
		test ! -e /sys/module/mempin'
	check "modprobe mempin fails" modprobe_refused
	show "$W/out"
	# Lockdown refuses it (EPERM), or signature enforcement (EKEYREJECTED).
	lsm=$(dmesg | grep -m1 -E 'Lockdown: .*module loading is restricted|Loading of (unsigned module|module with unavailable key) is rejected' || true)
	check "the kernel log says why: ${lsm#*] }" test -n "$lsm"
	check "mempinctl doctor: lockdown, and the module's key is not trusted, with the fix" \
		doctor_says signature fail untrusted-key "mokutil --import /var/lib/dkms/mok.pub"
	show "$W/doctor.txt"
	check "mempinctl doctor: loaded says the kernel refused it, quoting its log" \
		doctor_says loaded fail refused "mokutil --import /var/lib/dkms/mok.pub"
	purge_all
}

purge_all() {
	say "E. purge"
	rm -f /etc/modules-load.d/mempin.conf
	check "mempin not loaded (nothing to unload)" \
		eval 'modprobe -r mempin 2>/dev/null; test ! -e /sys/module/mempin'
	step "apt-get purge mempin-dkms libmempin1 libmempin-dev mempin-tools" \
		apt-get purge -y mempin-dkms libmempin1 libmempin-dev mempin-tools || true
	show "$W/step.log" | grep -iE 'dkms|error|warn' | head -n 20 || true
	check "dpkg knows no mempin package (not even its configuration)" no_package_left
	check "dkms knows no mempin" no_dkms_mempin
	check "no /usr/src/mempin-*" eval '! compgen -G "/usr/src/mempin-*"'
	check "no mempin.ko under /lib/modules" eval '! find /lib/modules -name "mempin.ko*" | grep .'
	check "no mempin in modules.dep" eval "! grep mempin /lib/modules/$KVER/modules.dep"
	check "no udev rule, no sysusers entry" \
		test ! -e /usr/lib/udev/rules.d/60-mempin.rules -a ! -e /usr/lib/sysusers.d/mempin.conf
	check "no libmempin in ld.so's cache" eval '! ldconfig -p | grep libmempin'
	check "purge left no file behind" nothing_new_since before-packages
	finish
}

# --- the Secure Boot run ------------------------------------------------------------

secure_boot_on() {
	od -An -t u1 /sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c
	[[ $(od -An -j4 -N1 -t u1 \
		/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c) -eq 1 ]]
}
signed_by_dkms_key() {
	local subject signer
	subject=$(openssl x509 -inform DER -in /var/lib/dkms/mok.pub -noout -subject)
	signer=$(modinfo -F signer mempin)
	echo "module signer: $signer; /var/lib/dkms/mok.pub: $subject"
	[[ -n $signer && $subject == *"CN = $signer" ]]
}
# mokutil --test-key's words for DKMS's key (its exit status differs by
# version: the words are what the user reads).
mok_test_key() {
	local out
	out=$(mokutil --test-key /var/lib/dkms/mok.pub 2>&1)
	echo "$out"
	[[ $out == *"$1"* ]]
}
kernel_holds_dkms_key() {
	local signer
	signer=$(modinfo -F signer mempin)
	# (/proc/keys cuts the type to 9 characters.)
	grep -F " asymmetri $signer: " /proc/keys
}

sb_boot1() {
	say "S. Secure Boot: Debian $(cat /etc/debian_version), kernel $KVER, booted by" \
		"shim and grub from OVMF"
	check "the firmware says Secure Boot is on" secure_boot_on
	check "the kernel is locked down (integrity) by Secure Boot" \
		eval 'cat /sys/kernel/security/lockdown; grep -q "\[integrity\]" /sys/kernel/security/lockdown'
	useradd -m -s /bin/bash pinuser
	useradd -m -s /bin/bash other
	# shellcheck disable=SC2046
	step "apt-get install mokutil" apt-get install -y --no-install-recommends $(debs mokutil) ||
		finish
	check "mokutil --sb-state: SecureBoot enabled" \
		eval 'mokutil --sb-state; mokutil --sb-state | grep -q "SecureBoot enabled"'
	# shellcheck disable=SC2046
	step "apt-get install ./*.deb (DKMS builds mempin and signs it with its key)" \
		apt-get install -y --no-install-recommends $(debs debs-a) || finish
	show "$W/step.log" | grep -iE 'dkms|sign|key|mok|error|warn' | head -n 20 || true
	check "dkms status: mempin/$VERSION_A installed for $KVER" dkms_installed "$VERSION_A"
	check "mempin.ko is signed with DKMS's key /var/lib/dkms/mok.pub" signed_by_dkms_key
	check "mokutil --test-key: DKMS's key is not enrolled" mok_test_key "is not enrolled"
	check "modprobe mempin fails" modprobe_refused
	show "$W/out"
	check "mempinctl doctor: Secure Boot on, the key not trusted, the fix" \
		doctor_says signature fail untrusted-key "mokutil --import /var/lib/dkms/mok.pub"
	show "$W/doctor.txt"
	check "mempinctl doctor: loaded says the kernel refused it, quoting its log" \
		doctor_says loaded fail refused "mokutil --import /var/lib/dkms/mok.pub"
	usermod -aG mempin pinuser
	cp /usr/share/doc/mempin-dkms/examples/modules-load.d/mempin.conf /etc/modules-load.d/
	# The README's "mokutil --import, reboot, Enroll MOK in MokManager",
	# but for the keyboard: the host puts the key in MokList itself.
	echo 2 >"$S/boot"
	tar -cf /dev/disk/by-id/virtio-mempin-boot -C /var/lib/dkms mok.pub || {
		bad "handing DKMS's key to the host"
		finish
	}
	sync
	say "rebooting; the host enrolls DKMS's key in the firmware's MokList"
	echo "MEMPIN-INSTALL: REBOOT"
	trap - ERR
	systemctl --no-block --job-mode=replace-irreversibly start reboot.target
	exit 0
}

sb_boot2() {
	say "T. Secure Boot, DKMS's key enrolled"
	check "the firmware says Secure Boot is on" secure_boot_on
	check "mokutil --test-key: DKMS's key is enrolled" mok_test_key "is already enrolled"
	check "the kernel holds DKMS's key (/proc/keys)" kernel_holds_dkms_key
	check "modules-load.d loaded mempin at boot" \
		eval 'systemctl status --no-pager systemd-modules-load.service; test -e /sys/module/mempin'
	use "Secure Boot" "$VERSION_A" /usr /usr/share/doc/mempin-dkms/examples
	check "mempinctl doctor: the module's signature is trusted" \
		doctor_says signature ok trusted "Secure Boot on"
	show "$W/doctor.txt"
	check "mempinctl doctor as pinuser: all fine" doctor_all_ok
	show "$W/out"
	finish
}

if grep -qw mempin_check=secureboot /proc/cmdline; then
	case $(cat "$S/boot" 2>/dev/null) in
	"") sb_boot1 ;;
	2) sb_boot2 ;;
	*) say "unexpected boot: $(cat "$S/boot")"; finish ;;
	esac
fi

case $(cat "$S/boot" 2>/dev/null) in
"") boot1 ;;
1b) boot1b_source ;;
1c) boot1c_source ;;
2) boot2 ;;
3) boot3 ;;
4) boot4 ;;
*) say "unexpected boot: $(cat "$S/boot")"; finish ;;
esac
