/* Make this process see an AVX2-only CPU: the answers of the cpuid instruction lose AVX-512, VNNI (both
 * kinds), BF16 and AMX, so onnxruntime, NumPy and OpenCV pick the kernels they would pick on such a CPU, and
 * those kernels run natively. It is for benchmarks on a machine with AMX or AVX-512, where issue 30's aims
 * (which are for AVX2-only CPUs) cannot otherwise be checked. It does not make the cores slower: the figures are
 * the AVX2 kernels' on this CPU, not those of an AVX2-only CPU, and say so.
 *
 * How: Linux's cpuid faulting (arch_prctl ARCH_SET_CPUID, /proc/cpuinfo flag cpuid_fault) turns every cpuid
 * into a SIGSEGV; the handler runs the real cpuid with faulting off for a moment, clears the bits, and steps
 * over the instruction. The setting is inherited by every thread and child process, and reset by execve, which
 * is why it comes as an LD_PRELOAD library. glibc chose its string functions before this runs; GLIBC_TUNABLES
 * (set by the wrapper script) covers those.
 *
 * On success it sets FERKIT_CPUID_MASK=avx2-only, which ferkit.cpu reads to print what the libraries see. */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <cpuid.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#define BIT(n) (1u << (n))

/* leaf 7 subleaf 0 */
static const uint32_t EBX7_HIDDEN = BIT(16) | BIT(17) | BIT(21) | BIT(26) | BIT(27) | BIT(28) | BIT(30) | BIT(31);
static const uint32_t ECX7_HIDDEN = BIT(1) | BIT(6) | BIT(11) | BIT(12) | BIT(14);
static const uint32_t EDX7_HIDDEN = BIT(2) | BIT(3) | BIT(8) | BIT(22) | BIT(23) | BIT(24) | BIT(25);
/* leaf 7 subleaf 1: AVX-VNNI, AVX512-BF16, AMX-FP16, AVX-IFMA; edx: AVX-VNNI-INT8 */
static const uint32_t EAX71_HIDDEN = BIT(4) | BIT(5) | BIT(21) | BIT(23);
static const uint32_t EDX71_HIDDEN = BIT(4) | BIT(5) | BIT(10);

static int cpuid_faulting(int on) { return (int)syscall(SYS_arch_prctl, ARCH_SET_CPUID, on ? 0 : 1); }

static void on_segv(int signal_number, siginfo_t *info, void *context_pointer) {
    ucontext_t *context = context_pointer;
    greg_t *regs = context->uc_mcontext.gregs;
    const uint8_t *ip = (const uint8_t *)regs[REG_RIP];
    (void)info;
    if (ip[0] != 0x0f || ip[1] != 0xa2) {
        /* A real crash: let it happen as it would have without us. */
        signal(signal_number, SIG_DFL);
        return;
    }
    uint32_t leaf = (uint32_t)regs[REG_RAX], subleaf = (uint32_t)regs[REG_RCX];
    uint32_t a, b, c, d;
    cpuid_faulting(0);
    __cpuid_count(leaf, subleaf, a, b, c, d);
    cpuid_faulting(1);
    if (leaf == 7 && subleaf == 0) {
        b &= ~EBX7_HIDDEN;
        c &= ~ECX7_HIDDEN;
        d &= ~EDX7_HIDDEN;
    } else if (leaf == 7 && subleaf == 1) {
        a &= ~EAX71_HIDDEN;
        d &= ~EDX71_HIDDEN;
    } else if (leaf == 0xd && subleaf == 0) {
        /* XSAVE state components: drop the AVX-512 (5-7) and AMX (17-18) ones as an AVX2 CPU has none. */
        a &= ~(BIT(5) | BIT(6) | BIT(7) | BIT(17) | BIT(18));
    }
    regs[REG_RAX] = a;
    regs[REG_RBX] = b;
    regs[REG_RCX] = c;
    regs[REG_RDX] = d;
    regs[REG_RIP] += 2;
}

__attribute__((constructor)) static void hide_avx512_vnni_amx(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_segv;
    action.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGSEGV, &action, NULL) != 0 || cpuid_faulting(1) != 0) {
        fprintf(stderr, "cpuid_avx2_only: this kernel or CPU has no cpuid faulting; nothing is hidden\n");
        return;
    }
    setenv("FERKIT_CPUID_MASK", "avx2-only", 1);
}
