//go:build amd64 && !purego

#include "textflag.h"

// func forestPartitionAVX512(src *int32, n int, x *float64, thr float64, dst *int32, stride int) (l int)
//
// 16 row numbers per round: load them, multiply them by stride, gather
// the rows' values from x (two gathers of 8 float64), compare with thr
// (greater, ordered, quiet) and compress the failing row numbers to the
// front of dst, the passing ones to its back. The left ones are stored as
// a whole vector (the slots past them are free: at least 16 row numbers
// remain to be placed before a full round), the right ones under a mask
// of their count, below those placed before; the final partial round
// loads, gathers and stores under masks.
//
// Registers: SI src, CX row numbers to do, R8 x, Z31 thr, Z29 stride, DI
// dst, R9 next left slot, R10 next right slot (counting down), R11 all
// ones (for BZHI), K1 lanes in use, Z8 element offsets.
TEXT ·forestPartitionAVX512(SB), NOSPLIT, $0-56
	MOVQ src+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ x+16(FP), R8
	VBROADCASTSD thr+24(FP), Z31
	MOVQ dst+32(FP), DI
	MOVQ stride+40(FP), DX
	VPBROADCASTD DX, Z29
	XORQ R9, R9
	LEAQ -1(CX), R10
	MOVL $-1, R11
	KXNORW K1, K1, K1

full:
	CMPQ CX, $16
	JLT  tail
	VMOVDQU32 (SI), Z0
	VPMULLD Z29, Z0, Z8
	KMOVW K1, K2
	VPXORQ Z1, Z1, Z1
	VGATHERDPD (R8)(Y8*8), K2, Z1     // values of lanes 0-7
	VEXTRACTI64X4 $1, Z8, Y3
	KMOVW K1, K3
	VPXORQ Z2, Z2, Z2
	VGATHERDPD (R8)(Y3*8), K3, Z2     // values of lanes 8-15
	VCMPPD $0x1e, Z31, Z1, K4         // GT_OQ: value > thr
	VCMPPD $0x1e, Z31, Z2, K5
	KUNPCKBW K4, K5, K6               // K6: lanes going right
	KNOTW K6, K7                      // K7: lanes going left
	VPCOMPRESSD Z0, K7, Z4
	VPCOMPRESSD Z0, K6, Z5
	VMOVDQU32 Z4, (DI)(R9*4)          // whole vector: the slots past the left ones are free
	KMOVW K7, DX
	POPCNTL DX, DX
	ADDQ DX, R9
	KMOVW K6, DX
	POPCNTL DX, DX
	SUBQ DX, R10
	BZHIL DX, R11, BX
	KMOVW BX, K2
	VMOVDQU32 Z5, K2, 4(DI)(R10*4)    // exactly the right ones, below those already there
	ADDQ $64, SI
	SUBQ $16, CX
	JMP  full

tail:
	TESTQ CX, CX
	JLE   done
	BZHIL CX, R11, DX
	KMOVW DX, K1                      // the CX < 16 lanes still to do
	VMOVDQU32.Z (SI), K1, Z0
	VPMULLD Z29, Z0, Z8
	KMOVW K1, K2
	VPXORQ Z1, Z1, Z1
	VGATHERDPD (R8)(Y8*8), K2, Z1
	VEXTRACTI64X4 $1, Z8, Y3
	KSHIFTRW $8, K1, K3
	VPXORQ Z2, Z2, Z2
	VGATHERDPD (R8)(Y3*8), K3, Z2
	VCMPPD $0x1e, Z31, Z1, K4
	VCMPPD $0x1e, Z31, Z2, K5
	KUNPCKBW K4, K5, K6
	KANDW K1, K6, K6
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
	MOVQ R9, l+48(FP)
	VZEROUPPER
	RET
