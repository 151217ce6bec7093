/* The host board: the DUT firmware as a POSIX program. It serves the protocol on a new
 * pseudo-terminal (printing the terminal's path on stdout) or on stdin/stdout.
 *
 *   dut --pty [--exit-with-stdin]    print /dev/pts/N, then serve on it
 *   dut --stdio                      serve on stdin/stdout; exit at end of input
 *   ... --signals PATH               report to a simulated power monitor (below)
 *
 * A real board in energy mode pulls its timestamp pin low and draws current while it works; this
 * one has neither, so with --signals it writes both to the FIFO at PATH, one line per change:
 * "ts <ns>" for a timestamp pulse, "busy <ns>" / "idle <ns>" when it starts / stops working on
 * received bytes, <ns> being CLOCK_MONOTONIC in nanoseconds (the reader is
 * tinybench/energy/dut_signals.py, which must have the FIFO open before the DUT starts).
 *
 * With --exit-with-stdin the pty server also exits when its stdin reaches end of file, so that a
 * launcher that dies cannot leave it running. SIGUSR1 resets the emulated board: it forgets its
 * state and prints its boot banner, as a real board does after a reset. */
#define _XOPEN_SOURCE 600
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "board.h"
#include "dut.h"

static int out_fd = STDOUT_FILENO;
static int signals_fd = -1;
static volatile sig_atomic_t reset_requested;

static void request_reset(int signal_number)
{
    (void)signal_number;
    reset_requested = 1;
}
static struct timespec start_time;

void board_uart_write(const char *data, size_t length)
{
    while (length > 0) {
        const ssize_t n = write(out_fd, data, length);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            exit(0); /* the host side is gone */
        data += n;
        length -= (size_t)n;
    }
}

uint32_t board_time_us(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint32_t)((now.tv_sec - start_time.tv_sec) * 1000000LL +
                      (now.tv_nsec - start_time.tv_nsec) / 1000);
}

/* One report on the --signals FIFO. A report is far shorter than PIPE_BUF, so it is written
 * whole; if the reader has gone, reporting stops (SIGPIPE is ignored). */
static void report_signal(const char *kind)
{
    char line[48];
    struct timespec now;
    int length;
    if (signals_fd < 0)
        return;
    clock_gettime(CLOCK_MONOTONIC, &now);
    length = snprintf(line, sizeof line, "%s %lld\n", kind,
                      (long long)now.tv_sec * 1000000000LL + now.tv_nsec);
    for (;;) {
        const ssize_t n = write(signals_fd, line, (size_t)length);
        if (n == length)
            return;
        if (n < 0 && errno == EINTR)
            continue;
        close(signals_fd);
        signals_fd = -1;
        return;
    }
}

#if TB_ENERGY_MODE
void board_timestamp_pin(void)
{
    report_signal("ts");
}
#endif

/* Open the --signals FIFO without waiting for a reader (there must be one already), then make
 * writes blocking, so that a report is delayed rather than lost when the reader lags. */
static int open_signals(const char *path)
{
    const int fd = open(path, O_WRONLY | O_NONBLOCK);
    if (fd < 0) {
        fprintf(stderr, "dut: cannot open --signals %s: %s (the power monitor must open it first)\n",
                path, strerror(errno));
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    signal(SIGPIPE, SIG_IGN);
    return fd;
}

/* Open a pseudo-terminal pair in raw mode. The slave side stays open here too, so that the host
 * may close and reopen the port without the master seeing a hangup. */
static int open_pty(int *slave_fd, const char **slave_path)
{
    struct termios raw;
    const int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0)
        return -1;
    *slave_path = ptsname(master);
    if (!*slave_path)
        return -1;
    *slave_fd = open(*slave_path, O_RDWR | O_NOCTTY);
    if (*slave_fd < 0 || tcgetattr(*slave_fd, &raw) != 0)
        return -1;
    /* Raw mode (what BSD's cfmakeraw does): no echo, no line editing, no CR/LF translation. */
    raw.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
    raw.c_oflag &= ~(tcflag_t)OPOST;
    raw.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
    raw.c_cflag &= ~(tcflag_t)(CSIZE | PARENB);
    raw.c_cflag |= CS8;
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    if (tcsetattr(*slave_fd, TCSANOW, &raw) != 0)
        return -1;
    return master;
}

static void serve(int in_fd, int watch_stdin)
{
    char buffer[512];
    struct pollfd fds[2];
    const nfds_t nfds = watch_stdin ? 2 : 1;
    fds[0].fd = in_fd;
    fds[0].events = POLLIN;
    fds[1].fd = STDIN_FILENO;
    fds[1].events = POLLIN;
    for (;;) {
        ssize_t n, i;
        if (reset_requested) {
            reset_requested = 0;
            dut_init();
        }
        if (poll(fds, nfds, -1) < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        if (nfds == 2 && fds[1].revents) {
            n = read(STDIN_FILENO, buffer, sizeof buffer);
            if (n <= 0)
                return;
        }
        if (fds[0].revents) {
            n = read(in_fd, buffer, sizeof buffer);
            if (n < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (n <= 0)
                return;
            report_signal("busy");
            for (i = 0; i < n; i++)
                dut_receive_char(buffer[i]);
            report_signal("idle");
        }
    }
}

static int usage(void)
{
    fprintf(stderr, "usage: dut --pty [--exit-with-stdin] [--signals FIFO] | "
                    "dut --stdio [--signals FIFO]\n");
    return 2;
}

int main(int argc, char **argv)
{
    int use_pty = 0, use_stdio = 0, exit_with_stdin = 0, i;
    struct sigaction reset_action;
    clock_gettime(CLOCK_MONOTONIC, &start_time);
    memset(&reset_action, 0, sizeof reset_action);
    reset_action.sa_handler = request_reset;
    sigaction(SIGUSR1, &reset_action, NULL); /* no SA_RESTART: poll returns at once */
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--pty") == 0)
            use_pty = 1;
        else if (strcmp(argv[i], "--stdio") == 0)
            use_stdio = 1;
        else if (strcmp(argv[i], "--exit-with-stdin") == 0)
            exit_with_stdin = 1;
        else if (strcmp(argv[i], "--signals") == 0 && i + 1 < argc) {
            signals_fd = open_signals(argv[++i]);
            if (signals_fd < 0)
                return 1;
        }
        else
            return usage();
    }
    if (use_pty == use_stdio)
        return usage();
    if (use_stdio) {
        dut_init();
        serve(STDIN_FILENO, 0);
        return 0;
    }
    {
        int slave = -1;
        const char *path = NULL;
        const int master = open_pty(&slave, &path);
        if (master < 0) {
            perror("dut: cannot open a pseudo-terminal");
            return 1;
        }
        out_fd = master;
        /* A real board boots before anyone listens: its banner is gone by the time a host opens
         * the port. Do the same, so that the host never reads output it did not ask for. */
        dut_init();
        tcflush(slave, TCIFLUSH);
        printf("%s\n", path);
        fflush(stdout);
        serve(master, exit_with_stdin);
    }
    return 0;
}
