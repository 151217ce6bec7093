# Board qemu-an386: a Cortex-M4F on QEMU's mps2-an386 machine. Included by firmware/Makefile.
CC := arm-none-eabi-gcc
SIZE := arm-none-eabi-size
QEMU ?= qemu-system-arm
# Where `make flash` puts the UART: a TCP port on localhost, or pty.
SERIAL ?= tcp:4444
BOARD_CFLAGS := -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -O2 -g \
                -ffunction-sections -fdata-sections
BOARD_LDFLAGS := -T boards/$(BOARD)/linker.ld -nostartfiles --specs=nano.specs \
                 -Wl,--gc-sections -Wl,-Map=$(BUILD)/dut.map
BOARD_LDLIBS := -lm
TARGET := $(BUILD)/dut.elf

$(TARGET): $(OBJECTS) boards/$(BOARD)/linker.ld
	$(CC) $(BOARD_CFLAGS) $(BOARD_LDFLAGS) $(LDFLAGS) -o $@ $(OBJECTS) $(BOARD_LDLIBS)
	@$(SIZE) $@ | awk 'NR==2 { printf "flash %d bytes, RAM %d bytes (data + bss + stack)\n", $$1+$$2, $$2+$$3 }'

# -icount shift=0: one virtual nanosecond per instruction, so SysTick timestamps are instruction
# counts and repeat exactly from run to run.
QEMU_ARGS := -M mps2-an386 -cpu cortex-m4 -icount shift=0 -display none -monitor none \
             -kernel $(TARGET)
flash: $(TARGET)
ifeq ($(SERIAL),pty)
	$(QEMU) $(QEMU_ARGS) -serial pty
else
	@echo "QEMU waits for a connection on socket://127.0.0.1:$(subst tcp:,,$(SERIAL)) (pyserial URL)"
	$(QEMU) $(QEMU_ARGS) \
	  -chardev socket,id=uart0,host=127.0.0.1,port=$(subst tcp:,,$(SERIAL)),server=on,wait=on,nodelay=on \
	  -serial chardev:uart0
endif
