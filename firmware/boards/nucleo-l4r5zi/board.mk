# Board nucleo-l4r5zi: the MLPerf Tiny reference board (STM32L4R5ZI). Included by firmware/Makefile.
LINKER_SCRIPT := boards/nucleo-l4r5zi/linker.ld
include arch/cortex-m/cortex-m.mk

BIN := $(BUILD)/dut.bin
$(BIN): $(TARGET)
	arm-none-eabi-objcopy -O binary $< $@

# Flash with whichever tool is installed: openocd, st-flash (stlink-tools) or pyocd.
flash: $(TARGET) $(BIN)
	@if command -v openocd >/dev/null 2>&1; then \
	  openocd -f interface/stlink.cfg -f target/stm32l4x.cfg \
	    -c "program $(TARGET) verify reset exit" || { echo "openocd could not flash: is the board connected by USB (ST-LINK)?" >&2; exit 1; }; \
	elif command -v st-flash >/dev/null 2>&1; then \
	  st-flash --reset write $(BIN) 0x08000000 || { echo "st-flash could not flash: is the board connected by USB (ST-LINK)?" >&2; exit 1; }; \
	elif command -v pyocd >/dev/null 2>&1; then \
	  pyocd flash -t stm32l4r5zitx $(TARGET) || { echo "pyocd could not flash: is the board connected, and the stm32l4 pack installed (pyocd pack install stm32l4r5zitx)?" >&2; exit 1; }; \
	else \
	  echo "no flashing tool found: install one of openocd (apt-get install openocd), stlink-tools (st-flash) or pyocd (pip install pyocd)" >&2; exit 1; \
	fi
