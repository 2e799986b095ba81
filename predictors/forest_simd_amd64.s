//go:build amd64 && !purego

#include "textflag.h"

// EXACT decides the undecided lanes K5 of the round in Z0 from their
// float64 values: gathers x[row × stride] for them (Z28 stride, R13 x) and
// adds to K6 those greater than Z30 (thr). Clobbers K2, K3, K4, Z9-Z12.
#define EXACT \
	VPMULLD Z28, Z0, Z9; \
	KMOVW K5, K2; \
	VPXORQ Z10, Z10, Z10; \
	VGATHERDPD (R13)(Y9*8), K2, Z10; \
	VEXTRACTI64X4 $1, Z9, Y11; \
	KSHIFTRW $8, K5, K3; \
	VPXORQ Z12, Z12, Z12; \
	VGATHERDPD (R13)(Y11*8), K3, Z12; \
	VCMPPD $0x1e, Z30, Z10, K2; \
	VCMPPD $0x1e, Z30, Z12, K3; \
	KUNPCKBW K2, K3, K4; \
	KANDW K5, K4, K4; \
	KORW K4, K6, K6

// SPLIT stores a full round of 16 row numbers (rows) whose lanes going
// right are the mask right: those going left compressed to dst[R9:] as a
// whole vector (the slots past them are free: at least 16 row numbers
// remain to be placed before a full round), those going right compressed
// under a mask of their count just below dst[R10+1:], and R9 and R10
// moved past them. Clobbers K2, K7, Z4, Z5, DX, BX.
#define SPLIT(rows, right) \
	KNOTW right, K7; \
	VPCOMPRESSD rows, K7, Z4; \
	VPCOMPRESSD rows, right, Z5; \
	VMOVDQU32 Z4, (DI)(R9*4); \
	KMOVW K7, DX; \
	POPCNTL DX, DX; \
	ADDQ DX, R9; \
	KMOVW right, DX; \
	POPCNTL DX, DX; \
	SUBQ DX, R10; \
	BZHIL DX, R11, BX; \
	KMOVW BX, K2; \
	VMOVDQU32 Z5, K2, 4(DI)(R10*4)

// func forestPartitionAVX512(src *int32, n int, x32 *float32, thr32 float32, dst *int32, stride32 int, x *float64, thr float64, stride int) (l int)
//
// 16 row numbers per round: load them, multiply them by stride32, gather
// the rows' float32 values from x32 (one gather of 16), compare with
// thr32 (greater, ordered, quiet) and compress the failing row numbers to
// the front of dst, the passing ones to its back (SPLIT). Lanes whose
// float32 value equals thr32 are undecided (rounding to float32 is
// monotone, so greater and less are exact, equal is not): in a round that
// has any, the float64 values of those lanes are gathered from x (offsets
// row × stride) and compared with thr (EXACT).
//
// While 64 or more row numbers remain, four rounds go together (loop
// quad), then two while 32 remain (loop pair): their gathers are issued
// back to back, so that their memory latencies overlap (measured on
// 2026-11-29, 100,000 rows × 100 trees, one core: 409–422 ms with one
// round at a time, 391–406 with two, 378–390 with four, 374–385 with four
// then two; eight were no better than four). Rounds with an undecided lane
// anywhere are done again one round at a time (loop full), which decides
// them. The final partial round loads, gathers and stores under masks.
//
// Registers: SI src, CX row numbers to do, R8 x32, Z31 thr32, Z29
// stride32, R13 x, Z30 thr, Z28 stride, DI dst, R9 next left slot, R10
// next right slot (counting down), R11 all ones (for BZHI), K1 lanes in
// use; in loop full Z0 row numbers, Z8 float32 offsets, Z1 values, K6
// lanes going right, K5 undecided lanes.
TEXT ·forestPartitionAVX512(SB), NOSPLIT, $0-80
	MOVQ src+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ x32+16(FP), R8
	VBROADCASTSS thr32+24(FP), Z31
	MOVQ dst+32(FP), DI
	MOVQ stride32+40(FP), DX
	VPBROADCASTD DX, Z29
	MOVQ x+48(FP), R13
	VBROADCASTSD thr+56(FP), Z30
	MOVQ stride+64(FP), DX
	VPBROADCASTD DX, Z28
	XORQ R9, R9
	LEAQ -1(CX), R10
	MOVL $-1, R11
	KXNORW K1, K1, K1

quad:
	CMPQ CX, $64
	JLT  pair
	VMOVDQU32 0(SI), Z0               // row numbers of the four rounds: Z0, Z20, Z23, Z26
	VMOVDQU32 64(SI), Z20
	VMOVDQU32 128(SI), Z23
	VMOVDQU32 192(SI), Z26
	VPMULLD Z29, Z0, Z8               // their offsets: Z8, Z21, Z24, Z27
	VPMULLD Z29, Z20, Z21
	VPMULLD Z29, Z23, Z24
	VPMULLD Z29, Z26, Z27
	KMOVW K1, K2
	VPXORQ Z1, Z1, Z1
	KMOVW K1, K3
	VPXORQ Z22, Z22, Z22
	KMOVW K1, K4
	VPXORQ Z25, Z25, Z25
	KMOVW K1, K5
	VPXORQ Z9, Z9, Z9
	VGATHERDPS (R8)(Z8*4), K2, Z1     // their values: Z1, Z22, Z25, Z9
	VGATHERDPS (R8)(Z21*4), K3, Z22
	VGATHERDPS (R8)(Z24*4), K4, Z25
	VGATHERDPS (R8)(Z27*4), K5, Z9
	VCMPPS $0x00, Z31, Z1, K2         // EQ_OQ: undecided lanes
	VCMPPS $0x00, Z31, Z22, K3
	VCMPPS $0x00, Z31, Z25, K4
	VCMPPS $0x00, Z31, Z9, K5
	KORW K2, K3, K2
	KORW K4, K5, K4
	KORTESTW K2, K4
	JNZ  full                         // rare: one round at a time decides them
	VCMPPS $0x1e, Z31, Z1, K6         // GT_OQ: lanes going right
	VCMPPS $0x1e, Z31, Z22, K3
	VCMPPS $0x1e, Z31, Z25, K4
	VCMPPS $0x1e, Z31, Z9, K5
	SPLIT(Z0, K6)
	SPLIT(Z20, K3)
	SPLIT(Z23, K4)
	SPLIT(Z26, K5)
	ADDQ $256, SI
	SUBQ $64, CX
	JMP  quad

pair:
	CMPQ CX, $32
	JLT  full
	VMOVDQU32 0(SI), Z0
	VMOVDQU32 64(SI), Z20
	VPMULLD Z29, Z0, Z8
	VPMULLD Z29, Z20, Z21
	KMOVW K1, K2
	VPXORQ Z1, Z1, Z1
	KMOVW K1, K3
	VPXORQ Z22, Z22, Z22
	VGATHERDPS (R8)(Z8*4), K2, Z1
	VGATHERDPS (R8)(Z21*4), K3, Z22
	VCMPPS $0x00, Z31, Z1, K2
	VCMPPS $0x00, Z31, Z22, K3
	KORTESTW K2, K3
	JNZ  full
	VCMPPS $0x1e, Z31, Z1, K6
	VCMPPS $0x1e, Z31, Z22, K3
	SPLIT(Z0, K6)
	SPLIT(Z20, K3)
	ADDQ $128, SI
	SUBQ $32, CX
	JMP  pair

full:
	CMPQ CX, $16
	JLT  tail
	VMOVDQU32 (SI), Z0
	VPMULLD Z29, Z0, Z8
	KMOVW K1, K2
	VPXORQ Z1, Z1, Z1
	VGATHERDPS (R8)(Z8*4), K2, Z1
	VCMPPS $0x1e, Z31, Z1, K6         // GT_OQ: value > thr32, so x > thr
	VCMPPS $0x00, Z31, Z1, K5         // EQ_OQ: undecided
	KORTESTW K5, K5
	JNZ  fullexact

fullsplit:
	SPLIT(Z0, K6)
	ADDQ $64, SI
	SUBQ $16, CX
	JMP  quad

fullexact:
	EXACT
	JMP  fullsplit

tail:
	TESTQ CX, CX
	JLE   done
	BZHIL CX, R11, DX
	KMOVW DX, K1                      // the CX < 16 lanes still to do
	VMOVDQU32.Z (SI), K1, Z0
	VPMULLD Z29, Z0, Z8
	KMOVW K1, K2
	VPXORQ Z1, Z1, Z1
	VGATHERDPS (R8)(Z8*4), K2, Z1
	VCMPPS $0x1e, Z31, Z1, K6
	KANDW K1, K6, K6
	VCMPPS $0x00, Z31, Z1, K5
	KANDW K1, K5, K5
	KORTESTW K5, K5
	JZ   tailsplit
	EXACT

tailsplit:
	KANDNW K1, K6, K7
	VPCOMPRESSD Z0, K7, Z4
	KMOVW K7, DX
	POPCNTL DX, DX
	BZHIL DX, R11, BX
	KMOVW BX, K2
	VMOVDQU32 Z4, K2, (DI)(R9*4)
	ADDQ DX, R9
	VPCOMPRESSD Z0, K6, Z5
	KMOVW K6, DX
	POPCNTL DX, DX
	SUBQ DX, R10
	BZHIL DX, R11, BX
	KMOVW BX, K3
	VMOVDQU32 Z5, K3, 4(DI)(R10*4)

done:
	MOVQ R9, l+72(FP)
	VZEROUPPER
	RET
