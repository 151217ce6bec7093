# Board qemu-an386: a Cortex-M4F on QEMU's mps2-an386 machine. Included by firmware/Makefile.
LINKER_SCRIPT := boards/qemu-an386/linker.ld
include arch/cortex-m/cortex-m.mk

QEMU ?= qemu-system-arm
# Where `make flash` puts the UART: a TCP port on localhost (SERIAL=tcp:PORT), or SERIAL=pty.
SERIAL ?= tcp:4444

# -icount shift=0: one virtual nanosecond per instruction, so SysTick timestamps are instruction
# counts and repeat exactly from run to run.
QEMU_ARGS := -M mps2-an386 -cpu cortex-m4 -icount shift=0 -display none -monitor none \
             -kernel $(TARGET)
flash: $(TARGET)
ifeq ($(SERIAL),pty)
	$(QEMU) $(QEMU_ARGS) -serial pty
else
	@echo "the board's UART is on socket://127.0.0.1:$(subst tcp:,,$(SERIAL)) (pyserial URL)"
	$(QEMU) $(QEMU_ARGS) \
	  -chardev socket,id=uart0,host=127.0.0.1,port=$(subst tcp:,,$(SERIAL)),server=on,wait=off,nodelay=on \
	  -serial chardev:uart0
endif
