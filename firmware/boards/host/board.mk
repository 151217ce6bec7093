# The host board: a native POSIX program (gcc). Included by firmware/Makefile.
CC ?= cc
BOARD_CFLAGS := -O2 -g
BOARD_LDLIBS := -lm
TARGET := $(BUILD)/dut

$(TARGET): $(OBJECTS)
	$(CC) $(LDFLAGS) -o $@ $(OBJECTS) $(BOARD_LDLIBS)

flash:
	@echo "The host board needs no flashing: run $(TARGET) --pty (or use 'tinybench emulate')." >&2
	@false
