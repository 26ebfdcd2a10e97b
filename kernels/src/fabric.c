/*
 * fabric.c: the persistent SYSTEM fabric kernel, placed on each Ethernet core when a device
 * is opened and stopped when it is closed.
 *
 * It forwards packets from a receive queue to a transmit queue, both struct tt_queue in its
 * own L1 (the link side fills RX and drains TX): whenever RX holds a packet and TX has a free
 * slot, it copies the RX slot into the TX slot word by word, publishes it (TX wr + 1),
 * releases the RX slot (RX rd + 1) and increments the control block's `done`. Between
 * packets it polls the control block's `cmd` (struct tt_sys_ctrl, see tt_kernel.h):
 *   TT_SYS_CMD_STOP   acknowledge (done unchanged, status 0, cmd = NONE) and return 0
 *   anything else     status = TT_SYS_STATUS_BAD_CMD, cmd = NONE, keeps running
 * Packets still queued at stop stay where they are.
 *
 * Runtime args:
 *   0: L1 address of the control block (struct tt_sys_ctrl; host sets cmd = NONE, done = 0)
 *   1: L1 address of the RX queue (struct tt_queue, initialised by the host before launch)
 *   2: L1 address of the TX queue (struct tt_queue, same slot size as RX)
 * Circular buffers: none. Semaphores: none.
 * Exit code: 0 after a stop command; 1 bad launch block; 2 fewer than 3 args; 5 an address is
 *   0 or not word aligned, a queue has no slots, or the slot sizes differ or are not a
 *   nonzero multiple of 4.
 */
#include "tt_kernel.h"

static int bad_addr(uint32_t a) { return a == 0 || a % 4 != 0; }

int kernel_main(void)
{
    int err = tt_launch_check(3, 0, 0);
    if (err != TT_EXIT_OK)
        return err;
    uint32_t ctrl_addr = get_arg_val(0);
    uint32_t rx_addr = get_arg_val(1);
    uint32_t tx_addr = get_arg_val(2);
    if (bad_addr(ctrl_addr) || bad_addr(rx_addr) || bad_addr(tx_addr))
        return TT_EXIT_BAD_ARG;
    volatile struct tt_sys_ctrl *ctrl = (volatile struct tt_sys_ctrl *)ctrl_addr;
    volatile struct tt_queue *rx = (volatile struct tt_queue *)rx_addr;
    volatile struct tt_queue *tx = (volatile struct tt_queue *)tx_addr;
    uint32_t slot_size = rx->slot_size;
    if (rx->num_slots == 0 || tx->num_slots == 0 || slot_size == 0 || slot_size % 4 != 0 ||
        tx->slot_size != slot_size)
        return TT_EXIT_BAD_ARG;
    uint32_t words = slot_size / 4;

    for (;;) {
        uint32_t cmd = ctrl->cmd;
        if (cmd != TT_SYS_CMD_NONE) {
            ctrl->status = cmd == TT_SYS_CMD_STOP ? 0 : TT_SYS_STATUS_BAD_CMD;
            ctrl->cmd = TT_SYS_CMD_NONE;
            if (cmd == TT_SYS_CMD_STOP)
                return TT_EXIT_OK;
        }
        uint32_t rd = rx->rd;
        uint32_t wr = tx->wr;
        if (rx->wr == rd || wr - tx->rd >= tx->num_slots)
            continue;
        const volatile uint32_t *from = (const volatile uint32_t *)tt_queue_slot(rx, rd);
        volatile uint32_t *to = (volatile uint32_t *)tt_queue_slot(tx, wr);
        for (uint32_t w = 0; w < words; w++)
            to[w] = from[w];
        tx->wr = wr + 1;
        rx->rd = rd + 1;
        ctrl->done = ctrl->done + 1;
    }
}
