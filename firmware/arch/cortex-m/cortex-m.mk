# Shared by the Cortex-M boards' board.mk: the cross compiler, the Cortex-M4F flags, the reset
# handler in firmware/arch/cortex-m, and the link. A board sets LINKER_SCRIPT before including it.
CC := arm-none-eabi-gcc
SIZE := arm-none-eabi-size
BOARD_CFLAGS := -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -O2 -g \
                -ffunction-sections -fdata-sections -Iarch/cortex-m
BOARD_LDFLAGS := -T $(LINKER_SCRIPT) -nostartfiles --specs=nano.specs \
                 -Wl,--gc-sections -Wl,-Map=$(BUILD)/dut.map
BOARD_LDLIBS := -lm
TARGET := $(BUILD)/dut.elf

ARCH_OBJECTS := $(BUILD)/obj/arch/startup.o $(BUILD)/obj/arch/serve.o

$(BUILD)/obj/arch/%.o: arch/cortex-m/%.c $(BUILD)/cflags.txt
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# The link fails when the model does not fit the part (the linker script has its real sizes).
$(TARGET): $(OBJECTS) $(ARCH_OBJECTS) $(LINKER_SCRIPT)
	$(CC) $(BOARD_CFLAGS) $(BOARD_LDFLAGS) $(LDFLAGS) -o $@ $(OBJECTS) $(ARCH_OBJECTS) $(BOARD_LDLIBS)
	@$(SIZE) $@ | awk 'NR==2 { printf "flash %d bytes, RAM %d bytes (data + bss + stack)\n", $$1+$$2, $$2+$$3 }'
