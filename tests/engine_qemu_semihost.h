/* What the engine test images (tests/engine_qemu_main.c, tests/engine_qemu_requantize.c) share:
 * file I/O and exit through ARM semihosting (QEMU with -semihosting-config
 * enable=on,target=native; paths are relative to QEMU's working folder) and the vector table.
 * Included by exactly one file of each image. */
#ifndef ENGINE_QEMU_SEMIHOST_H
#define ENGINE_QEMU_SEMIHOST_H

#include <stdint.h>

#include "cortex_m.h"

#define SYS_OPEN 0x01
#define SYS_CLOSE 0x02
#define SYS_WRITE 0x05
#define SYS_READ 0x06
#define SYS_EXIT_EXTENDED 0x20
#define ADP_STOPPED_APPLICATION_EXIT 0x20026
#define MODE_READ_BINARY 1
#define MODE_WRITE_BINARY 5

static int32_t semihost(int32_t operation, void *argument)
{
    register int32_t r0 __asm__("r0") = operation;
    register void *r1 __asm__("r1") = argument;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

/* Exits QEMU with `status`. */
static void leave(int32_t status)
{
    int32_t block[2] = {ADP_STOPPED_APPLICATION_EXIT, status};
    semihost(SYS_EXIT_EXTENDED, block);
    for (;;) {
    }
}

static void fault(void) { leave(3); }

/* A file handle, negative when the file cannot be opened. */
static int32_t open_file(const char *name, int32_t mode)
{
    int32_t length = 0, block[3];
    while (name[length]) {
        length++;
    }
    block[0] = (int32_t)(uintptr_t)name;
    block[1] = mode;
    block[2] = length;
    return semihost(SYS_OPEN, block);
}

/* SYS_READ, SYS_WRITE or SYS_CLOSE; returns the number of bytes NOT transferred, as semihosting
 * does. */
static int32_t transfer(int32_t operation, int32_t handle, const void *data, int32_t bytes)
{
    int32_t block[3] = {handle, (int32_t)(uintptr_t)data, bytes};
    return semihost(operation, block);
}

/* Not CORTEX_M_SYSTEM_VECTORS: a fault here exits QEMU with status 3 instead of halting. */
__attribute__((section(".vectors"), used))
static const cortex_m_vector vectors[16] = {
    (cortex_m_vector)&stack_top, reset_handler, fault, fault, fault, fault, fault, 0, 0, 0, 0,
    fault, fault, 0, fault, fault,
};

#endif /* ENGINE_QEMU_SEMIHOST_H */
