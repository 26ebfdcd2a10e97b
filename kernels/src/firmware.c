/*
 * firmware.c: tt-runtime's firmware for the RISC-V cores of a Wormhole B0 Tensix tile.
 *
 * Not a kernel: the same position-independent image sits at each core's reset pc
 * (WormholeB0/TensixTile/SoftReset.md: B 0x0, T0 0x6000, T1 0xA000, T2 0xE000, NC 0x12000).
 * A core leaving soft reset starts at tt_entry with every register zero; tt_entry works out
 * which core it is from its own pc, takes that processor's stack and runs the launch loop:
 * wait for go == TT_GO_START in the processor's mailbox, set TT_GO_RUNNING, call the kernel
 * at `entry` with a0 = `launch`, store its exit code in `result`, set TT_GO_DONE, repeat.
 * The host launches and waits by reading and writing L1 only, on a card as on the simulator.
 * A kernel that faults stops the core (the simulator reports why); the host restarts the
 * firmware by putting the core back in reset and releasing it.
 *
 * Runtime args, circular buffers, semaphores: none. It never returns.
 */
#define TT_FIRMWARE
#include "tt_kernel.h"

#define TT_STR2(x) #x
#define TT_STR(x) TT_STR2(x)

_Static_assert(TT_STACK_BYTES == 1 << 12, "tt_entry shifts by 12 to size a stack");

__attribute__((noreturn, used)) void tt_firmware_main(uint32_t processor);

/* At reset every register is zero. The slot this image runs from says which processor this
 * is (a0: 0 B, 1 NC, 2-4 T0-T2); sp becomes the top of that processor's stack. */
__attribute__((naked, section(".text.tt_entry"))) void tt_entry(void)
{
    __asm__ volatile(
        "auipc t0, 0\n"
        "li a0, 0\n"
        "li t1, " TT_STR(TT_RESET_PC_T0) "\n"
        "bltu t0, t1, 1f\n"
        "li a0, 2\n"
        "li t1, " TT_STR(TT_RESET_PC_T1) "\n"
        "bltu t0, t1, 1f\n"
        "li a0, 3\n"
        "li t1, " TT_STR(TT_RESET_PC_T2) "\n"
        "bltu t0, t1, 1f\n"
        "li a0, 4\n"
        "li t1, " TT_STR(TT_RESET_PC_NC) "\n"
        "bltu t0, t1, 1f\n"
        "li a0, 1\n"
        "1:\n"
        "addi t1, a0, 1\n"
        "slli t1, t1, 12\n"
        "li t2, " TT_STR(TT_STACK_BASE) "\n"
        "add sp, t1, t2\n"
        "j tt_firmware_main\n");
}

void tt_firmware_main(uint32_t processor)
{
    volatile struct tt_mailbox *m =
        (volatile struct tt_mailbox *)(TT_MAILBOX_BASE + processor * TT_MAILBOX_STRIDE);
    for (;;) {
        while (m->go != TT_GO_START) {
        }
        m->go = TT_GO_RUNNING;
        int (*kernel)(const struct tt_launch *) =
            (int (*)(const struct tt_launch *))(uintptr_t)m->entry;
        uint32_t result = (uint32_t)kernel((const struct tt_launch *)(uintptr_t)m->launch);
        m->result = result;
        m->error_pc = 0;
        m->go = TT_GO_DONE;
    }
}
