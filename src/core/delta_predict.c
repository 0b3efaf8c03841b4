// SPDX-License-Identifier: Apache-2.0
/*
 * delta_predict.c - executable-aware prediction for delta difference runs.
 *
 * When code moves, branch offsets and pointers change even though the code
 * did not. The patch carries a small map of how old offsets moved (from its
 * own difference runs); for a BL/B.W, an ARM BL or a 32-bit pointer into the
 * image found in the old bytes, the applier predicts the new field as the
 * same target translated through the map, and the stream only codes the
 * difference to that prediction (zero when the guess is right). The x86
 * predictors do the same for rel32 branch targets and RIP-relative operands
 * (the opcode before the 32-bit field tells them apart), and for AArch64
 * B/BL and ADRP with the ADD/LDR/STR that completes its address. Shared
 * by the
 * host encoder and the device applier so both predict bit-identically.
 */
#include "delta_internal.h"
#include "le.h"

/* Index of the last start <= x in an ascending array (start[0] <= x). */
static uint32_t last_le(const uint32_t *start, uint32_t n, uint32_t x)
{
    uint32_t lo = 0, hi = n; /* start[lo] <= x < start[hi] */
    while (hi - lo > 1u) {
        uint32_t mid = lo + (hi - lo) / 2u;
        if (start[mid] <= x)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

static uint32_t map_lookup(const struct dm_pred *m, uint32_t x)
{
    if (x >= m->old_len || m->map_n == 0 || x < m->map_old[0])
        return x;
    return x + (uint32_t)m->map_disp[last_le(m->map_old, m->map_n, x)];
}

/*
 * x86 rel32 branches: E8 (CALL), E9 (JMP), 0F 80..8F (Jcc) right before q.
 * The field is relative to the end of the instruction, q + 4.
 */
static int x86_branch(const uint8_t ctx[3])
{
    return ctx[2] == 0xE8u || ctx[2] == 0xE9u || (ctx[1] == 0x0Fu && (ctx[2] & 0xF0u) == 0x80u);
}

/*
 * x86-64 RIP-relative operands whose disp32 ends the instruction (no
 * immediate follows, so the target is q + 4 + disp32): ModRM mod = 00,
 * r/m = 101 right before q, after a REX prefix (0x40..0x4F) and one of the
 * common one-byte opcodes without an immediate (MOV 89/8B, LEA 8D, ADD 03,
 * SUB 2B, XOR 33, CMP 39/3B, TEST 85, MOVSXD 63); or FF 15 / FF 25 (CALL /
 * JMP through a pointer, the PLT and -fno-plt calls), which need no REX.
 */
static int x86_rip(const uint8_t ctx[3])
{
    if (ctx[1] == 0xFFu && (ctx[2] == 0x15u || ctx[2] == 0x25u))
        return 1;
    if ((ctx[2] & 0xC7u) != 0x05u || (ctx[0] & 0xF0u) != 0x40u)
        return 0;
    switch (ctx[1]) {
    case 0x89u: case 0x8Bu: case 0x8Du: case 0x03u: case 0x2Bu:
    case 0x33u: case 0x39u: case 0x3Bu: case 0x85u: case 0x63u:
        return 1;
    default:
        return 0;
    }
}

/* Sign-extend the low `bits` bits of v. */
static uint32_t sext(uint32_t v, unsigned bits)
{
    uint32_t m = 1u << (bits - 1u);
    v &= (m << 1) - 1u;
    return (v ^ m) - m;
}

/*
 * The instruction completing an ADRP to register rd: ADD (immediate, not
 * shifted) or a load/store with an unsigned offset whose base is rd. *lo
 * gets the low 12 bits of the address it forms (the offset scaled by the
 * access size), *sc the scale; 0 when w is neither (or the offset reaches
 * past 4 KiB, so it is no :lo12: operand).
 */
static int a64_lo12(uint32_t w, uint32_t rd, uint32_t *lo, unsigned *sc)
{
    if (((w >> 5) & 31u) != rd)
        return 0;
    if ((w & 0x7FC00000u) == 0x11000000u) { /* ADD Xd|Wd, Xn, #imm12 */
        *sc = 0;
    } else if ((w & 0x3B000000u) == 0x39000000u) { /* LDR/STR [Xn, #imm12 << size] */
        *sc = w >> 30;
        if (*sc == 0u && (w & 0x04800000u) == 0x04800000u)
            *sc = 4u; /* 128-bit SIMD&FP register */
    } else {
        return 0;
    }
    *lo = ((w >> 10) & 0xFFFu) << *sc;
    return *lo < 0x1000u;
}

/*
 * OTA_DELTA_PRED_A64_ADRP at a 4-aligned q, p: the pending second half of
 * an ADRP, or an ADRP whose register is the base of an ADD/LDR/STR among the
 * next 4 instructions (m->ahead): the whole target (page + low 12 bits) is
 * mapped, the ADRP re-encoded for the new page relative to p's, and the
 * second instruction's new low 12 bits left pending for when the caller
 * reaches it. ADR, LDR (literal), B.cond, CBZ/CBNZ and TBZ/TBNZ are not
 * predicted: on the Debian arm64 corpus each cost more bytes (data words
 * that look like them) than it saved.
 */
static int a64_adrp(const struct dm_pred *m, uint32_t w, uint32_t q, uint32_t p, uint8_t out[4])
{
    struct dm_a64 *a = m->a64;
    uint32_t lo = 0;
    unsigned sc = 0;
    if (a && a->on && a->q == q && a->p == p) {
        a->on = 0;
        if (a64_lo12(w, (w >> 5) & 31u, &lo, &sc)) {
            ota_le_put32(out, (w & ~(0xFFFu << 10)) | (((uint32_t)a->lo >> sc) << 10));
            return 1;
        }
    }
    if ((w & 0x9F000000u) != 0x90000000u) /* ADRP Xd, page */
        return 0;
    uint32_t k = 0;
    for (uint32_t i = 0; i + 4u <= m->n_ahead && i < DM_A64_AHEAD && !k; i += 4u)
        if (a64_lo12(ota_le_get32(m->ahead + i), w & 31u, &lo, &sc))
            k = i + 4u;
    if (!k)
        return 0; /* the page alone is a worse guess than the old bytes */
    uint32_t page = (q & ~0xFFFu) + (sext(((w >> 3) & 0x1FFFFCu) | ((w >> 29) & 3u), 21) << 12);
    uint32_t nt = map_lookup(m, page + lo);
    uint32_t imm = ((nt >> 12) - (p >> 12)) & 0x1FFFFFu;
    ota_le_put32(out, (w & 0x9F00001Fu) | ((imm & 3u) << 29) | ((imm >> 2) << 5));
    if (a) {
        a->q = q + k;
        a->p = p + k;
        a->lo = (uint16_t)(nt & 0xFFFu);
        a->on = 1;
    }
    return 1;
}

int ota_delta_predict(const struct dm_pred *m, const uint8_t o[4], const uint8_t ctx[3],
                      uint32_t q, uint32_t p, uint8_t out[4])
{
    uint8_t flags = m->flags;
    if (m->opts & OTA_DELTA_OPT_CODE) {
        int code = 0;
        for (uint32_t i = 0; i < m->code_n; i++)
            code |= q - m->code_start[i] < m->code_end[i] - m->code_start[i];
        flags &= (uint8_t)(code ? ~(OTA_DELTA_PRED_PTR | OTA_DELTA_PRED_VALUE)
                                : (OTA_DELTA_PRED_PTR | OTA_DELTA_PRED_VALUE));
    }
    if (((flags & OTA_DELTA_PRED_X86_BR) && x86_branch(ctx)) ||
        ((flags & OTA_DELTA_PRED_X86_RIP) && x86_rip(ctx))) {
        uint32_t t = q + 4u + ota_le_get32(o);
        ota_le_put32(out, map_lookup(m, t) - p - 4u);
        return 1;
    }
    uint32_t hw1 = (uint32_t)o[0] | ((uint32_t)o[1] << 8);
    uint32_t hw2 = (uint32_t)o[2] | ((uint32_t)o[3] << 8);
    if ((flags & OTA_DELTA_PRED_THUMB_BL) && !(q & 1u) && !(p & 1u) &&
        (hw1 & 0xF800u) == 0xF000u && (hw2 & 0xB800u) == 0xB800u) {
        uint32_t v = ((hw1 & 0x7FFu) << 11) | (hw2 & 0x7FFu);
        uint32_t off = (v & 0x200000u) ? (v | 0xFFC00000u) : v; /* sign-extend 22 */
        uint32_t t = q + 4u + (off << 1);
        uint32_t nt = map_lookup(m, t);
        uint32_t nv = ((nt - p - 4u) >> 1) & 0x3FFFFFu;
        uint32_t n1 = (hw1 & 0xF800u) | (nv >> 11);
        uint32_t n2 = (hw2 & 0xF800u) | (nv & 0x7FFu);
        out[0] = (uint8_t)n1;
        out[1] = (uint8_t)(n1 >> 8);
        out[2] = (uint8_t)n2;
        out[3] = (uint8_t)(n2 >> 8);
        return 1;
    }
    if ((flags & OTA_DELTA_PRED_ARM_BL) && !(q & 3u) && !(p & 3u) && o[3] == 0xEBu) {
        uint32_t v = (uint32_t)o[0] | ((uint32_t)o[1] << 8) | ((uint32_t)o[2] << 16);
        uint32_t off = (v & 0x800000u) ? (v | 0xFF000000u) : v;
        uint32_t t = q + 8u + (off << 2);
        uint32_t nt = map_lookup(m, t);
        uint32_t nv = ((nt - p - 8u) >> 2) & 0xFFFFFFu;
        out[0] = (uint8_t)nv;
        out[1] = (uint8_t)(nv >> 8);
        out[2] = (uint8_t)(nv >> 16);
        out[3] = 0xEBu;
        return 1;
    }
    if ((flags & OTA_DELTA_PRED_A64_BR) && !(q & 3u) && !(p & 3u) &&
        (o[3] & 0x7Cu) == 0x14u) { /* AArch64 B (0x14..0x17) / BL (0x94..0x97) */
        uint32_t w = ota_le_get32(o);
        uint32_t off = (w & 0x2000000u) ? (w | 0xFC000000u) : (w & 0x3FFFFFFu);
        uint32_t nt = map_lookup(m, q + (off << 2));
        ota_le_put32(out, (w & 0xFC000000u) | (((nt - p) >> 2) & 0x3FFFFFFu));
        return 1;
    }
    if ((flags & OTA_DELTA_PRED_A64_ADRP) && !(q & 3u) && !(p & 3u) &&
        a64_adrp(m, ota_le_get32(o), q, p, out))
        return 1;
    if ((flags & (OTA_DELTA_PRED_PTR | OTA_DELTA_PRED_VALUE)) && !(q & 3u) && !(p & 3u)) {
        uint32_t w = (uint32_t)o[0] | ((uint32_t)o[1] << 8) | ((uint32_t)o[2] << 16) |
                     ((uint32_t)o[3] << 24);
        if ((flags & OTA_DELTA_PRED_PTR) && w - m->ptr_base < m->old_len) {
            ota_le_put32(out, map_lookup(m, w - m->ptr_base) + m->ptr_base);
            return 1;
        }
        if ((flags & OTA_DELTA_PRED_VALUE) && m->vmap_n && w >= m->vmap_start[0] &&
            w < m->vmap_end) {
            ota_le_put32(out, w + (uint32_t)m->vmap_disp[last_le(m->vmap_start, m->vmap_n, w)]);
            return 1;
        }
    }
    return 0;
}
