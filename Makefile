# mempin: top-level entry points.  See README.md.
KERNEL ?= bookworm
KDIR ?= /lib/modules/$(shell uname -r)/build
PREFIX ?= /usr/local

.PHONY: all module lib tools clean deps check check-matrix demo lint bench fuzz

all: module lib tools

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR)/module modules

lib:
	$(MAKE) -C lib

tools: lib
	$(MAKE) -C tools

# Installs every build and test dependency from Debian's archive (root).
deps:
	bash tests/guest/deps.sh

# Builds module (for the guest kernel), lib and tests, runs the Check suite
# in a QEMU guest running Debian $(KERNEL)'s stock kernel.
check: lib
	bash tests/guest/check.sh $(KERNEL)

demo: lib
	bash tests/guest/demo.sh $(KERNEL)

clean:
	-$(MAKE) -C lib clean
	-$(MAKE) -C tools clean
	-$(MAKE) -C tests clean
	rm -rf module/*.o module/*.ko module/*.mod* module/.*.cmd module/Module.symvers \
		module/modules.order module/.tmp_versions module/probes/build

lint:
	bash tests/lint/run.sh
