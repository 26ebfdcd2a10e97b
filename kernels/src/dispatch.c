/*
 * dispatch.c: the persistent SYSTEM dispatch kernel, placed on each dispatch core when a
 * device is opened and stopped when it is closed.
 *
 * It polls the command word of a struct tt_sys_ctrl in its own L1 and carries out NOC
 * commands on the host's behalf (move data between this core's L1 and any core or DRAM
 * endpoint, or add to a remote word, e.g. a worker's semaphore as a "go" signal), waiting
 * for each to complete before acknowledging it. Protocol (see struct tt_sys_ctrl in
 * tt_kernel.h): the host writes the operands, then `cmd`; the kernel writes `status`,
 * increments `done`, then sets `cmd` back to TT_SYS_CMD_NONE.
 *   TT_SYS_CMD_NOC_READ       read len bytes at (x, y, addr) into local L1 address `local`
 *   TT_SYS_CMD_NOC_WRITE      write len bytes of local L1 `local` to (x, y, addr)
 *   TT_SYS_CMD_NOC_ATOMIC_ADD add `value` to the word at (x, y, addr)
 *   TT_SYS_CMD_STOP           acknowledge (done + 1, cmd = NONE) and return 0
 *   anything else             status = TT_SYS_STATUS_BAD_CMD, acknowledged, keeps running
 * A command's status is 0 when done; a request the NoC refuses stops the core.
 *
 * Runtime args:
 *   0: L1 address of the control block (struct tt_sys_ctrl, TT_SYS_CTRL_BYTES, word aligned;
 *      the host writes cmd = TT_SYS_CMD_NONE there before launching)
 * Circular buffers: none. Semaphores: none.
 * Exit code: 0 after a stop command; 1 bad launch block; 2 no arg 0; 5 control block address
 *   is 0 or not word aligned.
 */
#include "tt_kernel.h"

int kernel_main(void)
{
    int err = tt_launch_check(1, 0, 0);
    if (err != TT_EXIT_OK)
        return err;
    uint32_t ctrl_addr = get_arg_val(0);
    if (ctrl_addr == 0 || ctrl_addr % 4 != 0)
        return TT_EXIT_BAD_ARG;
    volatile struct tt_sys_ctrl *ctrl = (volatile struct tt_sys_ctrl *)ctrl_addr;

    for (;;) {
        uint32_t cmd = ctrl->cmd;
        if (cmd == TT_SYS_CMD_NONE)
            continue;
        uint64_t addr = get_noc_addr(ctrl->x, ctrl->y, 0) + (((uint64_t)ctrl->addr_hi << 32) | ctrl->addr_lo);
        uint32_t status = 0;
        if (cmd == TT_SYS_CMD_STOP) {
        } else if (cmd == TT_SYS_CMD_NOC_READ) {
            noc_async_read(addr, ctrl->local, ctrl->len);
            noc_async_read_barrier();
        } else if (cmd == TT_SYS_CMD_NOC_WRITE) {
            noc_async_write(ctrl->local, addr, ctrl->len);
            noc_async_write_barrier();
        } else if (cmd == TT_SYS_CMD_NOC_ATOMIC_ADD) {
            noc_semaphore_inc(addr, ctrl->value);
            noc_async_atomic_barrier();
        } else {
            status = TT_SYS_STATUS_BAD_CMD;
        }
        ctrl->status = status;
        ctrl->done = ctrl->done + 1;
        ctrl->cmd = TT_SYS_CMD_NONE;
        if (cmd == TT_SYS_CMD_STOP)
            return TT_EXIT_OK;
    }
}
