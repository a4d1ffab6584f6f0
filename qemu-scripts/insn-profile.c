// SPDX-License-Identifier: GPL-2.0
/*
 * A QEMU TCG plugin that counts the guest instructions executed per
 * translation block, split into phases: each execution of the block at
 * the marker address ends a phase. qemu-scripts/profile.sh builds it and
 * qemu-scripts/profile-report.py maps the blocks to functions.
 *
 *   -plugin insn-profile.so,marker=<hex address>,out=<file>
 *
 * Output, one line per block that ran: address, instructions, then the
 * number of times it ran in each phase. Counters are not atomic: run QEMU
 * with single-threaded TCG (-accel tcg,thread=single).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

#define PHASES 16

struct block {
	uint64_t vaddr;
	uint64_t insns;
	uint64_t count;		/* in the current phase, added to inline */
	uint64_t phase[PHASES];
	struct block *next;
};

static struct block *blocks;
static uint64_t marker;
static unsigned int phase;
static char *out;

static void end_phase(void)
{
	for (struct block *b = blocks; b; b = b->next) {
		if (phase < PHASES)
			b->phase[phase] += b->count;
		b->count = 0;
	}
	phase++;
}

static void on_marker(unsigned int vcpu, void *data)
{
	end_phase();
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	struct block *b = calloc(1, sizeof(*b));

	if (!b)
		abort();
	b->vaddr = qemu_plugin_tb_vaddr(tb);
	b->insns = qemu_plugin_tb_n_insns(tb);
	b->next = blocks;
	blocks = b;
	qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64,
						 &b->count, 1);
	if (marker && b->vaddr == marker)
		qemu_plugin_register_vcpu_tb_exec_cb(tb, on_marker,
						     QEMU_PLUGIN_CB_NO_REGS, NULL);
}

static void on_guest_exit(qemu_plugin_id_t id, void *data)
{
	FILE *f = fopen(out, "w");

	end_phase();
	if (!f) {
		perror(out);
		return;
	}
	fprintf(f, "# phases %u\n", phase);
	for (struct block *b = blocks; b; b = b->next) {
		uint64_t any = 0;

		for (int i = 0; i < PHASES; i++)
			any |= b->phase[i];
		if (!any)
			continue;
		fprintf(f, "%" PRIx64 " %" PRIu64, b->vaddr, b->insns);
		for (int i = 0; i < PHASES; i++)
			fprintf(f, " %" PRIu64, b->phase[i]);
		fputc('\n', f);
	}
	fclose(f);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id,
					   const qemu_info_t *info,
					   int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "marker=", 7))
			marker = strtoull(argv[i] + 7, NULL, 16);
		else if (!strncmp(argv[i], "out=", 4))
			out = strdup(argv[i] + 4);
	}
	if (!marker || !out) {
		fprintf(stderr, "insn-profile: marker= and out= are required\n");
		return -1;
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
	qemu_plugin_register_atexit_cb(id, on_guest_exit, NULL);
	return 0;
}
