/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bao Remote I/O as the backend and frontend meet it (remio-abi.md): trapped
 * window accesses become requests, queued FIFO per device, with ids from one
 * pool holding a slot per physical CPU (lowest free first); the frontend vCPU
 * waits inside the monitor, interrupts masked and without timeout, until the
 * backend completes the request. The remio hypercall (ASK, READ, WRITE,
 * NOTIFY) follows Bao's register use, status codes and quirks exactly:
 * ASK fails with +1 (empty, or addr/value non-zero), a completion must name a
 * PROCESSING request of the device (-1 otherwise), the completion's op (not
 * the request's) decides whether the frontend's register is written, and the
 * 64-bit value is written unmodified.
 */
#include "monitor.h"

/** Hypercall status: success. */
#define HC_E_SUCCESS 0
/** Hypercall status: failure (returned positive by ASK, negative elsewhere). */
#define HC_E_FAILURE 1
/** Hypercall status: unknown hypercall id (returned negative). */
#define HC_E_INVAL_ID 2
/** Hypercall status: bad arguments (returned negative). */
#define HC_E_INVAL_ARGS 3

/* remio hypercall ops (x3): REMIO_OP_* of abi.h. Bao's statuses as the remio ABI names them: */
_Static_assert(HC_E_SUCCESS == REMIO_STATUS_OK && HC_E_FAILURE == REMIO_STATUS_EMPTY, "remio statuses");
_Static_assert(-HC_E_FAILURE == REMIO_STATUS_NOT_PROCESSING && -HC_E_INVAL_ID == REMIO_STATUS_UNKNOWN_HYPERCALL &&
               -HC_E_INVAL_ARGS == REMIO_STATUS_INVALID, "remio statuses");

/** Request id that makes Bao pop the next pending request instead of looking one up. */
#define REMIO_NEXT_PENDING_REQUEST (-1L)
/** Request slots: one per physical CPU, as in Bao. */
#define REMIO_REQUESTS PLAT_CPUS

/** Life cycle of a request slot (Bao's REMIO_STATE_*). */
enum remio_state {
    REMIO_STATE_FREE,       /**< slot unused */
    REMIO_STATE_PENDING,    /**< queued, not yet asked for */
    REMIO_STATE_PROCESSING, /**< returned by ASK, awaiting completion */
    REMIO_STATE_COMPLETE,   /**< completed by the backend, frontend not yet resumed */
};

/** One trapped access. */
struct remio_request {
    uint32_t bind_key;       /**< device it belongs to (zero in a never-used slot, as in Bao) */
    uint64_t addr;           /**< absolute guest-physical address accessed */
    uint64_t width;          /**< access width, bytes */
    uint64_t op;             /**< REMIO_OP_WRITE or REMIO_OP_READ */
    uint64_t value;          /**< whole source register for a write; completion value */
    uint32_t reg;            /**< the frontend's transfer register (ESR_EL2.SRT) */
    uint32_t cpu;            /**< physical CPU of the trapped frontend vCPU */
    volatile enum remio_state state; /**< life cycle */
};

/** A remio device: the joined frontend and backend entries with one bind key. */
struct remio_device {
    uint32_t bind_key;           /**< Bao bind key */
    const char *name;            /**< name in the platform description */
    uint64_t window_base;        /**< frontend window base */
    uint64_t window_size;        /**< frontend window size */
    uint32_t backend_intid;      /**< raised in the backend for each new request */
    uint32_t frontend_intid;     /**< raised in the frontend by NOTIFY */
    struct vm *frontend;         /**< frontend VM */
    struct vm *backend;          /**< backend VM */
    uint32_t fifo[REMIO_REQUESTS]; /**< pending request ids, oldest first */
    uint32_t fifo_head;          /**< index of the oldest entry */
    uint32_t fifo_count;         /**< number of queued ids */
};

/** A completion on its way to the frontend's CPU (Bao sends a CPU message). */
struct remio_msg {
    volatile bool posted;  /**< set by the backend's CPU, cleared by the frontend's */
    uint32_t op;           /**< the completion's op: READ writes the register */
    uint32_t bind_key;     /**< device */
    uint32_t id;           /**< request id */
};

/** All devices, in platform order. */
static struct remio_device remio_devices[PLAT_DEVICE_COUNT];
/** The request pool. */
static struct remio_request remio_requests[REMIO_REQUESTS];
/** Which pool slots are allocated. */
static bool remio_allocated[REMIO_REQUESTS];
/** Completion mailbox of each physical CPU. */
static struct remio_msg remio_mailbox[PLAT_CPUS];
/** Guards devices, queues and the pool. */
static spinlock_t remio_lock;

/** Builds the device table and each VM's remio list (the backend's indexed by dm_id; each frontend's holds its own devices). */
void remio_init(void)
{
    struct vm *be = &vms[1];
    for (uint32_t d = 0; d < PLAT_DEVICE_COUNT; d++) {
        const struct device_row *r = &device_rows[d];
        struct vm *fe = vm_of_frontend(r->frontend);
        struct remio_device *dev = &remio_devices[d];
        dev->bind_key = r->bind_key;
        dev->name = r->name;
        dev->window_base = r->window_base;
        dev->window_size = r->window_size;
        dev->backend_intid = r->backend_intid;
        dev->frontend_intid = r->frontend_intid;
        dev->frontend = fe;
        dev->backend = be;
        if (r->dm_id < REMIO_VM_DEVS) {
            be->remio_devs[r->dm_id] = (struct remio_vm_dev){d, REMIO_DEV_BACKEND};
            if (r->dm_id + 1 > be->remio_dev_num) {
                be->remio_dev_num = r->dm_id + 1;
            }
        }
        fe->remio_devs[fe->remio_dev_num++] = (struct remio_vm_dev){d, REMIO_DEV_FRONTEND};
    }
}

/** Marks `vm` as started; a device is ready once both of its VMs are. */
void remio_vm_started(struct vm *vm)
{
    vm->started = true;
    arch_mb();
    arch_wake();
}

/** The frontend device whose window holds `addr` in `vm`, or NULL. */
static struct remio_device *remio_find_by_addr(struct vm *vm, uint64_t addr)
{
    for (uint32_t i = 0; i < vm->remio_dev_num; i++) {
        struct remio_device *dev = &remio_devices[vm->remio_devs[i].device];
        if (vm->remio_devs[i].type == REMIO_DEV_FRONTEND && addr >= dev->window_base &&
            addr - dev->window_base < dev->window_size) {
            return dev;
        }
    }
    return NULL;
}

/** True if `addr` is inside one of `vm`'s remio windows (Bao: vm_emul_get_mem, end excluded). */
bool remio_handles(struct vm *vm, uint64_t addr)
{
    return remio_find_by_addr(vm, addr) != NULL;
}

/**
 * The device a trapped access at `addr` is queued on, chosen the way Bao
 * does it (src/core/remio.c remio_find_vm_dev_by_addr with in_range from
 * src/lib/inc/util.h): the first frontend entry, in list order, with
 * base <= addr <= base + size. The end is included, so an access to the
 * first register of a window that starts exactly where an earlier-listed
 * window ends goes to that earlier device.
 */
static struct remio_device *remio_find_by_addr_like_bao(struct vm *vm, uint64_t addr)
{
    for (uint32_t i = 0; i < vm->remio_dev_num; i++) {
        struct remio_device *dev = &remio_devices[vm->remio_devs[i].device];
        if (vm->remio_devs[i].type == REMIO_DEV_FRONTEND && addr >= dev->window_base &&
            addr - dev->window_base <= dev->window_size) {
            return dev;
        }
    }
    return NULL;
}

/**
 * Looks up a request for `dev` the way Bao does: id -1 pops the oldest
 * pending one; ids inside the pool return that slot whatever its state; the
 * slot must belong to the device.
 */
static struct remio_request *remio_get_request(struct remio_device *dev, int64_t id, uint32_t *out_id)
{
    struct remio_request *req = NULL;
    uint32_t rid = 0;
    if (id == REMIO_NEXT_PENDING_REQUEST) {
        if (dev->fifo_count) {
            rid = dev->fifo[dev->fifo_head];
            dev->fifo_head = (dev->fifo_head + 1) % REMIO_REQUESTS;
            dev->fifo_count--;
            req = &remio_requests[rid];
        }
    } else if (id >= 0 && (uint64_t)id < REMIO_REQUESTS) {
        rid = (uint32_t)id;
        req = &remio_requests[rid];
    }
    if (req == NULL || req->bind_key != dev->bind_key) {
        return NULL;
    }
    if (out_id) {
        *out_id = rid;
    }
    return req;
}

/**
 * A trapped access to a window: queue a request, raise the backend's
 * interrupt, and park this vCPU (interrupts masked, no timeout) until the
 * backend's completion arrives; then write the destination register if the
 * completion's op is READ. The caller has already stepped the PC.
 */
void remio_emulate_access(struct vm *vm, struct trap_frame *f, uint64_t addr, uint32_t width, bool write,
                          uint32_t reg)
{
    struct remio_device *dev = remio_find_by_addr_like_bao(vm, addr);
    while (!(dev->frontend->started && dev->backend->started)) {
        arch_wait();
    }
    spin_lock(&remio_lock);
    int id = -1;
    for (int i = 0; i < REMIO_REQUESTS; i++) {
        if (!remio_allocated[i]) {
            id = i;
            break;
        }
    }
    if (id < 0) {
        spin_unlock(&remio_lock);
        trap_fatal(vm, f, "remio request pool exhausted");
    }
    remio_allocated[id] = true;
    struct remio_request *req = &remio_requests[id];
    req->bind_key = dev->bind_key;
    req->addr = addr;
    req->width = width;
    req->reg = reg;
    req->cpu = vm->cpu;
    req->op = write ? REMIO_OP_WRITE : REMIO_OP_READ;
    req->value = write ? frame_reg_get(f, reg) : 0;
    req->state = REMIO_STATE_PENDING;
    dev->fifo[(dev->fifo_head + dev->fifo_count) % REMIO_REQUESTS] = (uint32_t)id;
    dev->fifo_count++;
    spin_unlock(&remio_lock);

    vm_inject(dev->backend, dev->backend_intid);

    struct remio_msg *box = &remio_mailbox[vm->cpu];
    while (!box->posted) {
        arch_wait();
    }
    spin_lock(&remio_lock);
    struct remio_device *mdev = NULL;
    for (uint32_t d = 0; d < PLAT_DEVICE_COUNT; d++) {
        if (remio_devices[d].bind_key == box->bind_key) {
            mdev = &remio_devices[d];
        }
    }
    struct remio_request *done = mdev ? remio_get_request(mdev, box->id, NULL) : NULL;
    if (done) {
        if (box->op == REMIO_OP_READ) {
            frame_reg_set(f, done->reg, done->value);
        }
        done->state = REMIO_STATE_FREE;
        remio_allocated[box->id] = false;
    }
    box->posted = false;
    spin_unlock(&remio_lock);
    if (!done) {
        trap_fatal(vm, f, "remio completion for an unknown request");
    }
}

/** ASK: hand the oldest pending request of `dev` to the caller (c->out), or +1. */
static int64_t remio_handle_ask(struct remio_call *c, struct remio_device *dev, uint64_t addr, uint64_t value)
{
    if (addr != 0 || value != 0) {
        return HC_E_FAILURE;
    }
    uint32_t id = 0;
    struct remio_request *req = remio_get_request(dev, REMIO_NEXT_PENDING_REQUEST, &id);
    if (req == NULL || req->state != REMIO_STATE_PENDING) {
        return HC_E_FAILURE;
    }
    req->state = REMIO_STATE_PROCESSING;
    c->out[0] = req->addr;
    c->out[1] = req->op;
    c->out[2] = req->value;
    c->out[3] = req->width;
    c->out[4] = id;
    c->out[5] = dev->fifo_count != 0;
    c->has_out = true;
    return HC_E_SUCCESS;
}

/** READ/WRITE: complete a PROCESSING request and send it to the frontend's CPU; -1 otherwise. */
static int64_t remio_handle_complete(struct remio_device *dev, uint64_t op, uint64_t value, uint64_t request_id)
{
    struct remio_request *req = remio_get_request(dev, (int64_t)request_id, NULL);
    if (req == NULL || req->state != REMIO_STATE_PROCESSING) {
        return -HC_E_FAILURE;
    }
    req->value = value;
    req->state = REMIO_STATE_COMPLETE;
    struct remio_msg *box = &remio_mailbox[req->cpu];
    box->op = (uint32_t)op;
    box->bind_key = dev->bind_key;
    box->id = (uint32_t)request_id;
    arch_mb();
    box->posted = true;
    arch_mb();
    arch_wake_cpu(req->cpu);
    return HC_E_SUCCESS;
}

/**
 * The remio hypercall (aarch64: x0 = 0xC6000002, in x1..x5; riscv64: a7 =
 * 0x08000BA0, a6 = 2, in a0..a4): dm_id (index into the caller's remio
 * list), addr, op, value, request_id. Returns the status; a successful ASK
 * also fills c->out (the arch puts it in x1..x6 or a2..a7).
 */
int64_t remio_hypercall(struct vm *vm, struct remio_call *c)
{
    uint64_t dm_id = c->dm_id, addr = c->addr, op = c->op, value = c->value, request_id = c->request_id;
    c->has_out = false;
    if (dm_id >= vm->remio_dev_num) {
        return -HC_E_INVAL_ARGS;
    }
    struct remio_vm_dev *entry = &vm->remio_devs[dm_id];
    struct remio_device *dev = &remio_devices[entry->device];
    bool bound = entry->type == REMIO_DEV_BACKEND ? dev->backend == vm : dev->frontend == vm;
    if (!bound) {
        return -HC_E_FAILURE;
    }
    int64_t ret;
    spin_lock(&remio_lock);
    switch (op) {
    case REMIO_OP_WRITE:
    case REMIO_OP_READ:
        ret = remio_handle_complete(dev, op, value, request_id);
        break;
    case REMIO_OP_ASK:
        ret = remio_handle_ask(c, dev, addr, value);
        break;
    case REMIO_OP_NOTIFY:
        ret = HC_E_SUCCESS;
        break;
    default:
        ret = -HC_E_INVAL_ARGS;
        break;
    }
    spin_unlock(&remio_lock);
    if (op == REMIO_OP_NOTIFY) {
        vm_inject(dev->frontend, dev->frontend_intid);
    }
    return ret;
}

/**
 * The IPC hypercall (aarch64 x0 = 0xC6000001, riscv64 a6 = 1): `ipc_id`
 * indexes the caller's IPC list, `event` the event. The platform
 * description defines no IPC objects, so every index is out of range: -3,
 * as Bao answers.
 */
int64_t ipc_hypercall(struct vm *vm, uint64_t ipc_id, uint64_t event)
{
    (void)vm;
    (void)ipc_id;
    (void)event;
    return -HC_E_INVAL_ARGS;
}
