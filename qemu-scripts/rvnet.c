// SPDX-License-Identifier: GPL-2.0
/*
 * rvnet: the traffic of the network tests, checked byte by byte.
 *
 * One program for both ends: the host's peer (in the test's network
 * namespace, on the tap device of the VM's second NIC) and the guest's
 * client (static, in the initramfs).
 *
 *   rvnet serve [-p PORT] [-i IFNAME] [-d]
 *	TCP and UDP on PORT (default 7000), IPv4 and IPv6. With -i, counts the
 *	frames that arrive on IFNAME (their largest length and their source
 *	addresses), for STATS. With -d, ends when its parent process does.
 *   rvnet send ADDR LEN [-p PORT] [-s SEED]
 *	Sends LEN bytes of the pattern of SEED over TCP; the peer checks every
 *	byte and answers with the length it received intact.
 *   rvnet recv ADDR LEN [-p PORT] [-s SEED] [-i IFNAME]
 *	Asks the peer for LEN bytes of the pattern and checks every byte. With
 *	-i, also prints the largest frame IFNAME received meanwhile.
 *   rvnet udp ADDR COUNT SIZE [-p PORT]
 *	COUNT datagrams of SIZE bytes, each echoed by the peer and checked.
 *   rvnet rr ADDR COUNT [-p PORT]
 *	COUNT one-byte request/response transactions over one TCP connection.
 *   rvnet stats ADDR [-p PORT] [-r]
 *	Prints the peer's frame counts (-r: and resets them).
 *   rvnet flood ADDR MAC COUNT -i IFNAME [-p PORT]
 *	Asks the peer to send COUNT Ethernet frames to MAC (ethertype 0x88b5,
 *	local experimental) on its capture interface, and prints how many of
 *	them IFNAME received: a receive filter's test.
 *
 * Every client command prints one line, "rvnet: ok ..." with what it
 * measured (bytes, seconds, Mbit/s, transactions/s), or "rvnet: FAILED ..."
 * with the first wrong byte's offset, and exits with 0 or 1.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE (256 * 1024)
#define ETH_P_TEST 0x88b5
#define MAX_SOURCES 8

static int port = 7000;
static int die_with_parent;

static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("rvnet: FAILED ", stdout);
	vprintf(fmt, ap);
	fputs("\n", stdout);
	va_end(ap);
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The pattern: byte i of stream SEED is byte i % 8 of splitmix64(SEED + i / 8). */
static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static void pattern(uint64_t seed, uint64_t off, unsigned char *buf, size_t len)
{
	uint64_t word = mix(seed + off / 8);

	for (size_t i = 0; i < len; i++, off++) {
		if (off % 8 == 0)
			word = mix(seed + off / 8);
		buf[i] = word >> (8 * (off % 8));
	}
}

/* The offset of the first byte of BUF that differs from the pattern, or -1. */
static int64_t check(uint64_t seed, uint64_t off, const unsigned char *buf, size_t len)
{
	unsigned char want[4096];

	for (size_t done = 0; done < len;) {
		size_t n = len - done < sizeof(want) ? len - done : sizeof(want);

		pattern(seed, off + done, want, n);
		if (memcmp(want, buf + done, n))
			for (size_t i = 0; i < n; i++)
				if (want[i] != buf[done + i])
					return off + done + i;
		done += n;
	}
	return -1;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

/* Reads one line (without its newline) of at most SIZE - 1 bytes. */
static int read_line(int fd, char *line, size_t size)
{
	size_t n = 0;

	while (n < size - 1) {
		ssize_t r = read(fd, line + n, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		if (line[n] == '\n')
			break;
		n++;
	}
	line[n] = 0;
	return 0;
}

/* Frames seen on an interface by a packet socket. */
struct capture {
	pthread_mutex_t lock;
	int fd;
	uint64_t frames, big, max_len, test_frames;
	unsigned char sources[MAX_SOURCES][ETH_ALEN];
	int nsources;
	int mtu_frame; /* frames longer than this are "big" */
};

static struct capture cap = { .lock = PTHREAD_MUTEX_INITIALIZER, .fd = -1 };

static int capture_open(const char *ifname)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));

	if (fd < 0)
		return -1;
	sll.sll_ifindex = if_nametoindex(ifname);
	if (!sll.sll_ifindex || bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Counts one frame received from the other end (outgoing ones are ignored). */
static void capture_one(int fd, int timeout_ms)
{
	static unsigned char frame[65536 + 64];
	struct sockaddr_ll from;
	socklen_t fromlen = sizeof(from);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	if (poll(&p, 1, timeout_ms) <= 0)
		return;
	/* MSG_TRUNC: the frame's whole length, even beyond the buffer. */
	n = recvfrom(fd, frame, sizeof(frame), MSG_TRUNC, (struct sockaddr *)&from, &fromlen);
	if (n < ETH_HLEN || from.sll_pkttype == PACKET_OUTGOING)
		return;
	pthread_mutex_lock(&cap.lock);
	cap.frames++;
	if (frame[12] == ETH_P_TEST >> 8 && frame[13] == (ETH_P_TEST & 0xff))
		cap.test_frames++;
	if ((uint64_t)n > cap.max_len)
		cap.max_len = n;
	if (n > cap.mtu_frame)
		cap.big++;
	int i;

	for (i = 0; i < cap.nsources; i++)
		if (!memcmp(cap.sources[i], frame + ETH_ALEN, ETH_ALEN))
			break;
	if (i == cap.nsources && i < MAX_SOURCES) {
		memcpy(cap.sources[i], frame + ETH_ALEN, ETH_ALEN);
		cap.nsources++;
	}
	pthread_mutex_unlock(&cap.lock);
}

static void *capture_thread(void *arg)
{
	volatile int *stop = arg;

	while (!*stop)
		capture_one(cap.fd, 100);
	return NULL;
}

static void capture_reset(int mtu_frame);

/* Counts what IFNAME receives, in a thread, until capture_stop(). */
static volatile int capture_stopping;
static pthread_t capture_tid;

static void capture_start(const char *ifname)
{
	cap.fd = capture_open(ifname);
	if (cap.fd < 0)
		fail("capture on %s: %s", ifname, strerror(errno));
	capture_reset(1514);
	pthread_create(&capture_tid, NULL, capture_thread, (void *)&capture_stopping);
}

static void capture_stop(void)
{
	capture_stopping = 1;
	pthread_join(capture_tid, NULL);
}

static void capture_reset(int mtu_frame)
{
	pthread_mutex_lock(&cap.lock);
	cap.frames = cap.big = cap.max_len = cap.test_frames = 0;
	cap.nsources = 0;
	cap.mtu_frame = mtu_frame;
	pthread_mutex_unlock(&cap.lock);
}

static void capture_format(char *out, size_t size)
{
	int n;

	pthread_mutex_lock(&cap.lock);
	n = snprintf(out, size, "frames=%llu big=%llu max_frame=%llu sources=",
		     (unsigned long long)cap.frames, (unsigned long long)cap.big,
		     (unsigned long long)cap.max_len);
	for (int i = 0; i < cap.nsources && n < (int)size - 20; i++) {
		unsigned char *m = cap.sources[i];

		n += snprintf(out + n, size - n, "%s%02x:%02x:%02x:%02x:%02x:%02x",
			      i ? "," : "", m[0], m[1], m[2], m[3], m[4], m[5]);
	}
	pthread_mutex_unlock(&cap.lock);
}

/* The server's side of one TCP connection. */
static void *serve_conn(void *arg)
{
	int fd = (intptr_t)arg;
	unsigned char *buf = malloc(BUF_SIZE);
	char line[256], reply[512];
	unsigned long long seed, len;

	if (!buf || read_line(fd, line, sizeof(line)))
		goto out;
	if (sscanf(line, "SEND %llu %llu", &seed, &len) == 2) {
		/* The client sends: check it all. */
		uint64_t off = 0;
		int64_t bad = -1;

		while (off < len) {
			size_t want = len - off < BUF_SIZE ? len - off : BUF_SIZE;
			ssize_t n = read(fd, buf, want);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			if (bad < 0)
				bad = check(seed, off, buf, n);
			off += n;
		}
		if (bad >= 0)
			snprintf(reply, sizeof(reply), "BAD %lld\n", (long long)bad);
		else
			snprintf(reply, sizeof(reply), "OK %llu\n", (unsigned long long)off);
		write_all(fd, reply, strlen(reply));
	} else if (sscanf(line, "RECV %llu %llu", &seed, &len) == 2) {
		for (uint64_t off = 0; off < len;) {
			size_t n = len - off < BUF_SIZE ? len - off : BUF_SIZE;

			pattern(seed, off, buf, n);
			if (write_all(fd, buf, n))
				break;
			off += n;
		}
	} else if (!strcmp(line, "RR")) {
		char c;

		while (read(fd, &c, 1) == 1)
			if (write(fd, &c, 1) != 1)
				break;
	} else if (!strncmp(line, "FLOOD ", 6)) {
		unsigned int m[ETH_ALEN];
		int count;

		if (sscanf(line, "FLOOD %x:%x:%x:%x:%x:%x %d", &m[0], &m[1], &m[2], &m[3],
			   &m[4], &m[5], &count) == 7 && cap.fd >= 0) {
			unsigned char frame[60] = { 0 };
			struct sockaddr_ll to = { .sll_family = AF_PACKET };
			socklen_t tl = sizeof(to);

			getsockname(cap.fd, (struct sockaddr *)&to, &tl);
			for (int i = 0; i < ETH_ALEN; i++)
				frame[i] = m[i];
			memcpy(frame + ETH_ALEN, "\x02\x00\x00\x00\x00\x01", ETH_ALEN);
			frame[12] = ETH_P_TEST >> 8;
			frame[13] = ETH_P_TEST & 0xff;
			to.sll_halen = ETH_ALEN;
			memcpy(to.sll_addr, frame, ETH_ALEN);
			for (int i = 0; i < count; i++)
				sendto(cap.fd, frame, sizeof(frame), 0, (struct sockaddr *)&to,
				       sizeof(to));
			write_all(fd, "OK\n", 3);
		} else {
			write_all(fd, "BAD\n", 4);
		}
	} else if (!strncmp(line, "STATS", 5)) {
		int mtu_frame;

		capture_format(reply, sizeof(reply) - 1);
		strcat(reply, "\n");
		write_all(fd, reply, strlen(reply));
		if (sscanf(line, "STATS RESET %d", &mtu_frame) == 1)
			capture_reset(mtu_frame);
	}
out:
	free(buf);
	close(fd);
	return NULL;
}

static int listen_socket(int type)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	int fd = socket(AF_INET6, type, 0), off = 0, on = 1;

	if (fd < 0)
		return -1;
	/* Both IPv4 (as mapped addresses) and IPv6. */
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	a.sin6_addr = in6addr_any;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		return -1;
	if (type == SOCK_STREAM && listen(fd, 16) < 0)
		return -1;
	return fd;
}

static void *udp_echo(void *arg)
{
	int fd = (intptr_t)arg;
	static unsigned char buf[65536];
	struct sockaddr_storage from;

	for (;;) {
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);

		if (n >= 0)
			sendto(fd, buf, n, 0, (struct sockaddr *)&from, fl);
	}
	return NULL;
}

static int serve(const char *ifname)
{
	int tcp = listen_socket(SOCK_STREAM), udp = listen_socket(SOCK_DGRAM);
	pthread_t t;
	static int never;

	if (tcp < 0 || udp < 0) {
		perror("rvnet serve: listen");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	if (die_with_parent)
		prctl(PR_SET_PDEATHSIG, SIGTERM);
	pthread_create(&t, NULL, udp_echo, (void *)(intptr_t)udp);
	if (ifname) {
		cap.fd = capture_open(ifname);
		if (cap.fd < 0) {
			perror("rvnet serve: capture");
			return 1;
		}
		capture_reset(1514);
		pthread_create(&t, NULL, capture_thread, &never);
	}
	fprintf(stderr, "rvnet: serving on port %d\n", port);
	for (;;) {
		int fd = accept(tcp, NULL, NULL);

		if (fd < 0)
			continue;
		if (pthread_create(&t, NULL, serve_conn, (void *)(intptr_t)fd))
			close(fd);
		else
			pthread_detach(t);
	}
}

static int connect_to(const char *addr, int type)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int fd;

	if (inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		len = sizeof(*a4);
	} else if (inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		len = sizeof(*a6);
	} else {
		fail("bad address %s", addr);
	}
	fd = socket(ss.ss_family, type, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len) < 0)
		fail("connect to %s port %d: %s", addr, port, strerror(errno));
	return fd;
}

static void report(const char *what, uint64_t bytes, double secs)
{
	printf("rvnet: ok %s bytes=%llu seconds=%.3f mbit=%.1f\n", what,
	       (unsigned long long)bytes, secs, secs > 0 ? bytes * 8 / secs / 1e6 : 0);
}

static int cmd_send(const char *addr, uint64_t len, uint64_t seed)
{
	static unsigned char buf[BUF_SIZE];
	char line[128];
	int fd = connect_to(addr, SOCK_STREAM);
	unsigned long long got;
	long long bad;
	double t0 = now();

	snprintf(line, sizeof(line), "SEND %llu %llu\n", (unsigned long long)seed,
		 (unsigned long long)len);
	if (write_all(fd, line, strlen(line)))
		fail("send: %s", strerror(errno));
	for (uint64_t off = 0; off < len;) {
		size_t n = len - off < BUF_SIZE ? len - off : BUF_SIZE;

		pattern(seed, off, buf, n);
		if (write_all(fd, buf, n))
			fail("send at %llu: %s", (unsigned long long)off, strerror(errno));
		off += n;
	}
	shutdown(fd, SHUT_WR);
	if (read_line(fd, line, sizeof(line)))
		fail("send: no answer from the peer");
	if (sscanf(line, "BAD %lld", &bad) == 1)
		fail("send: the peer received a wrong byte at offset %lld", bad);
	if (sscanf(line, "OK %llu", &got) != 1 || got != len)
		fail("send: the peer received %s, not %llu bytes", line, (unsigned long long)len);
	report("send", len, now() - t0);
	return 0;
}

static int cmd_recv(const char *addr, uint64_t len, uint64_t seed, const char *ifname)
{
	static unsigned char buf[BUF_SIZE];
	char line[128];
	uint64_t off = 0;
	double t0;
	int fd;

	if (ifname)
		capture_start(ifname);
	fd = connect_to(addr, SOCK_STREAM);
	t0 = now();
	snprintf(line, sizeof(line), "RECV %llu %llu\n", (unsigned long long)seed,
		 (unsigned long long)len);
	if (write_all(fd, line, strlen(line)))
		fail("recv: %s", strerror(errno));
	while (off < len) {
		ssize_t n = read(fd, buf, len - off < BUF_SIZE ? len - off : BUF_SIZE);
		int64_t bad;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fail("recv: the stream ended after %llu of %llu bytes",
			     (unsigned long long)off, (unsigned long long)len);
		bad = check(seed, off, buf, n);
		if (bad >= 0)
			fail("recv: wrong byte at offset %lld", (long long)bad);
		off += n;
	}
	report("recv", len, now() - t0);
	if (ifname) {
		capture_stop();
		capture_format(line, sizeof(line));
		printf("rvnet: capture %s\n", line);
	}
	return 0;
}

static int cmd_udp(const char *addr, long count, size_t size)
{
	static unsigned char out[65536], in[65536];
	int fd = connect_to(addr, SOCK_DGRAM);
	double t0 = now();

	if (size < 8 || size > 65507)
		fail("udp: size %zu out of range", size);
	for (long i = 0; i < count; i++) {
		int tries;

		pattern(i, 0, out, size);
		for (tries = 0; tries < 3; tries++) {
			struct pollfd p = { .fd = fd, .events = POLLIN };
			ssize_t n;

			if (send(fd, out, size, 0) != (ssize_t)size)
				fail("udp: send %ld: %s", i, strerror(errno));
			if (poll(&p, 1, 2000) <= 0)
				continue;
			n = recv(fd, in, sizeof(in), 0);
			if (n != (ssize_t)size || memcmp(in, out, size))
				fail("udp: datagram %ld came back as %zd wrong bytes", i, n);
			break;
		}
		if (tries == 3)
			fail("udp: datagram %ld: no echo after 3 tries", i);
	}
	report("udp", (uint64_t)count * size, now() - t0);
	return 0;
}

static int cmd_rr(const char *addr, long count)
{
	int fd = connect_to(addr, SOCK_STREAM), on = 1;
	double t0, secs;
	char c = 'x';

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if (write_all(fd, "RR\n", 3))
		fail("rr: %s", strerror(errno));
	t0 = now();
	for (long i = 0; i < count; i++) {
		if (write(fd, &c, 1) != 1 || read(fd, &c, 1) != 1)
			fail("rr: transaction %ld: %s", i, strerror(errno));
	}
	secs = now() - t0;
	printf("rvnet: ok rr transactions=%ld seconds=%.3f tps=%.1f\n", count, secs,
	       secs > 0 ? count / secs : 0);
	return 0;
}

static int cmd_stats(const char *addr, int reset, int mtu_frame)
{
	char line[512];
	int fd = connect_to(addr, SOCK_STREAM);

	if (reset)
		snprintf(line, sizeof(line), "STATS RESET %d\n", mtu_frame);
	else
		snprintf(line, sizeof(line), "STATS\n");
	if (write_all(fd, line, strlen(line)) || read_line(fd, line, sizeof(line)))
		fail("stats: no answer");
	printf("rvnet: ok stats %s\n", line);
	return 0;
}

static int cmd_flood(const char *addr, const char *mac, int count, const char *ifname)
{
	char line[128];
	int fd;

	if (!ifname)
		fail("flood: -i IFNAME is needed");
	capture_start(ifname);
	fd = connect_to(addr, SOCK_STREAM);
	snprintf(line, sizeof(line), "FLOOD %s %d\n", mac, count);
	if (write_all(fd, line, strlen(line)) || read_line(fd, line, sizeof(line)) ||
	    strcmp(line, "OK"))
		fail("flood: the peer did not send the frames");
	/* What arrives, arrives within this. */
	sleep(1);
	capture_stop();
	printf("rvnet: ok flood sent=%d received=%llu\n", count,
	       (unsigned long long)cap.test_frames);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: rvnet serve|send|recv|udp|rr|stats|flood ... (see rvnet.c)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *ifname = NULL, *cmd;
	uint64_t seed = 1;
	int opt, reset = 0, mtu_frame = 1514;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		usage();
	cmd = argv[1];
	optind = 2;
	while ((opt = getopt(argc, argv, "p:s:i:rm:d")) != -1) {
		switch (opt) {
		case 'p': port = atoi(optarg); break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'i': ifname = optarg; break;
		case 'r': reset = 1; break;
		case 'm': mtu_frame = atoi(optarg); break;
		case 'd': die_with_parent = 1; break;
		default: usage();
		}
	}
	argv += optind;
	argc -= optind;
	if (!strcmp(cmd, "serve"))
		return serve(ifname);
	if (!strcmp(cmd, "send") && argc == 2)
		return cmd_send(argv[0], strtoull(argv[1], NULL, 0), seed);
	if (!strcmp(cmd, "recv") && argc == 2)
		return cmd_recv(argv[0], strtoull(argv[1], NULL, 0), seed, ifname);
	if (!strcmp(cmd, "udp") && argc == 3)
		return cmd_udp(argv[0], atol(argv[1]), strtoul(argv[2], NULL, 0));
	if (!strcmp(cmd, "rr") && argc == 2)
		return cmd_rr(argv[0], atol(argv[1]));
	if (!strcmp(cmd, "flood") && argc == 3)
		return cmd_flood(argv[0], argv[1], atoi(argv[2]), ifname);
	if (!strcmp(cmd, "stats") && argc == 1)
		return cmd_stats(argv[0], reset, mtu_frame);
	usage();
	return 2;
}
