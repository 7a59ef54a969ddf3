# C ABI packaging and checks for fidex. The Rust crate itself builds with cargo; these
# targets build the C libraries, install them for C/C++ users, and run the C examples.
#
#   make lib                          build libfidex.so and libfidex.a (PROFILE=release)
#   make install PREFIX=/opt/fidex    headers, libraries (SONAME libfidex.so.0.2, symbols
#                                     versioned FIDEX_0.2, debug info stripped), pkg-config
#                                     file, CMake package
#   make uninstall PREFIX=/opt/fidex
#   make native-static-libs           print the link line the static library needs
#   make header                       regenerate include/fidex.h (cbindgen, pinned)
#   make ffi-check                    Rust ABI tests + C/C++ examples (ASan/UBSan, valgrind,
#                                     install + pkg-config + CMake) + Miri when available

PREFIX      ?= /usr/local
LIBDIR      ?= $(PREFIX)/lib
INCLUDEDIR  ?= $(PREFIX)/include
DESTDIR     ?=
PROFILE     ?= release
CARGO       ?= cargo
TARGET_DIR  ?= $(or $(CARGO_TARGET_DIR),target)
VERSION     := $(shell sed -n 's/^version *= *"\([^"]*\)".*/\1/p' Cargo.toml | head -n 1)
# ABI version: before 1.0 each minor release may break the ABI (libfidex.so.0.2).
ABI         := $(shell echo $(VERSION) | awk -F. '{ if ($$1 == 0) print "0." $$2; else print $$1 }')
SONAME      := libfidex.so.$(ABI)
# From `make native-static-libs` on x86_64-unknown-linux-gnu; override for other targets.
NATIVE_STATIC_LIBS ?= -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc

ifeq ($(PROFILE),release)
  PROFILE_FLAG := --release
  OUT := $(TARGET_DIR)/release
else
  PROFILE_FLAG :=
  OUT := $(TARGET_DIR)/debug
endif

.PHONY: lib install uninstall native-static-libs header ffi-check examples miri shared

# The installed shared library: linked from the static one with the SONAME and the named
# version script ffi/fidex.map (rustc's own cdylib link cannot take a named script), then
# stripped of debug info, like the installed static library.
shared: lib
	mkdir -p $(OUT)/install
	cc -shared -o $(OUT)/install/libfidex.so.$(VERSION) -Wl,-soname,$(SONAME) \
	   -Wl,--version-script=ffi/fidex.map -Wl,--gc-sections -Wl,--no-undefined \
	   -Wl,--whole-archive $(OUT)/libfidex.a -Wl,--no-whole-archive $(NATIVE_STATIC_LIBS)
	strip --strip-debug $(OUT)/install/libfidex.so.$(VERSION)
	cp $(OUT)/libfidex.a $(OUT)/install/libfidex.a
	strip --strip-debug $(OUT)/install/libfidex.a

lib:
	$(CARGO) build --lib $(PROFILE_FLAG)

native-static-libs:
	$(CARGO) rustc --lib $(PROFILE_FLAG) --crate-type staticlib -- --print native-static-libs 2>&1 \
	  | sed -n 's/.*native-static-libs: //p'

header:
	FIDEX_BLESS=1 $(CARGO) test --test ffi_header

install: shared
	install -d $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(LIBDIR)/cmake/fidex
	install -m 644 include/fidex.h include/fidex.hpp include/fidex_cdef.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 755 $(OUT)/install/libfidex.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libfidex.so.$(VERSION)
	ln -sf libfidex.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libfidex.so
	install -m 644 $(OUT)/install/libfidex.a $(DESTDIR)$(LIBDIR)/libfidex.a
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
	    -e 's|@VERSION@|$(VERSION)|g' -e 's|@NATIVE_STATIC_LIBS@|$(NATIVE_STATIC_LIBS)|g' \
	    fidex.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/fidex.pc
	install -m 644 cmake/fidexConfig.cmake $(DESTDIR)$(LIBDIR)/cmake/fidex/fidexConfig.cmake
	sed -e 's|@VERSION@|$(VERSION)|g' cmake/fidexConfigVersion.cmake.in \
	    > $(DESTDIR)$(LIBDIR)/cmake/fidex/fidexConfigVersion.cmake

uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/fidex.h $(DESTDIR)$(INCLUDEDIR)/fidex.hpp $(DESTDIR)$(INCLUDEDIR)/fidex_cdef.h
	rm -f $(DESTDIR)$(LIBDIR)/libfidex.so $(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/libfidex.so.$(VERSION)
	rm -f $(DESTDIR)$(LIBDIR)/libfidex.a
	rm -f $(DESTDIR)$(LIBDIR)/pkgconfig/fidex.pc
	rm -rf $(DESTDIR)$(LIBDIR)/cmake/fidex

examples:
	bash examples/run.sh

miri:
	bash ffi/miri.sh

ffi-check:
	$(CARGO) test --test ffi --test ffi_header
	bash examples/run.sh
	bash ffi/miri.sh
