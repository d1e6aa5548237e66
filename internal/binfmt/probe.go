package binfmt

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"

	"github.com/nixcross/nixcross/internal/system"
)

// A probe is the smallest program that proves a system runs: a static ELF
// executable with one PT_LOAD segment whose code does write(1, "ok\n", 3)
// then exit(0) through raw system calls. It is assembled here, from the
// instruction encodings below, rather than compiled: no toolchain for seven
// architectures, no binary in the repository, and about 170 bytes each,
// cheap to copy into a container.

// probeMessage is what a probe prints when it ran.
const probeMessage = "ok\n"

// probeBase is where the segment loads: above vm.mmap_min_addr and aligned
// to 64 KiB, the largest page size among the supported kernels (ppc64le
// and aarch64 distributions use 64 KiB pages).
const (
	probeBase  = 0x400000
	probeAlign = 0x10000
)

// probeArch is one row of the instruction table: the ELF identity of the
// system and the code, given the message's address.
type probeArch struct {
	class   elf.Class
	order   binary.ByteOrder
	machine elf.Machine
	flags   uint32
	code    func(msg uint32) []byte
}

var probeArchs = map[string]probeArch{
	// syscall: rax = number (write 1, exit 60), args rdi, rsi, rdx.
	"x86_64": {elf.ELFCLASS64, binary.LittleEndian, elf.EM_X86_64, 0, func(msg uint32) []byte {
		return join(
			x86MovImm(0xb8, 1),   // mov $1, %eax (write)
			x86MovImm(0xbf, 1),   // mov $1, %edi
			x86MovImm(0xbe, msg), // mov $msg, %esi
			x86MovImm(0xba, 3),   // mov $3, %edx
			[]byte{0x0f, 0x05},   // syscall
			x86MovImm(0xb8, 60),  // mov $60, %eax (exit)
			[]byte{0x31, 0xff},   // xor %edi, %edi
			[]byte{0x0f, 0x05},   // syscall
		)
	}},
	// int $0x80: eax = number (write 4, exit 1), args ebx, ecx, edx.
	"i686": {elf.ELFCLASS32, binary.LittleEndian, elf.EM_386, 0, func(msg uint32) []byte {
		return join(
			x86MovImm(0xb8, 4),   // mov $4, %eax (write)
			x86MovImm(0xbb, 1),   // mov $1, %ebx
			x86MovImm(0xb9, msg), // mov $msg, %ecx
			x86MovImm(0xba, 3),   // mov $3, %edx
			[]byte{0xcd, 0x80},   // int $0x80
			x86MovImm(0xb8, 1),   // mov $1, %eax (exit)
			[]byte{0x31, 0xdb},   // xor %ebx, %ebx
			[]byte{0xcd, 0x80},   // int $0x80
		)
	}},
	// svc #0: x8 = number (write 64, exit 93), args x0, x1, x2.
	"aarch64": {elf.ELFCLASS64, binary.LittleEndian, elf.EM_AARCH64, 0, func(msg uint32) []byte {
		return words(binary.LittleEndian,
			a64Movz(0, 1, 0),
			a64Movz(1, msg&0xffff, 0),
			a64Movk(1, msg>>16, 16),
			a64Movz(2, 3, 0),
			a64Movz(8, 64, 0),
			0xd4000001, // svc #0
			a64Movz(0, 0, 0),
			a64Movz(8, 93, 0),
			0xd4000001, // svc #0
		)
	}},
	// ecall: a7 = number (write 64, exit 93), args a0, a1, a2.
	"riscv64": {elf.ELFCLASS64, binary.LittleEndian, elf.EM_RISCV, 0, func(msg uint32) []byte {
		const a0, a1, a2, a7, zero = 10, 11, 12, 17, 0
		hi, lo := rvSplit(msg)
		return words(binary.LittleEndian,
			rvAddi(a0, zero, 1),
			rvLui(a1, hi),
			rvAddi(a1, a1, lo),
			rvAddi(a2, zero, 3),
			rvAddi(a7, zero, 64),
			0x00000073, // ecall
			rvAddi(a0, zero, 0),
			rvAddi(a7, zero, 93),
			0x00000073, // ecall
		)
	}},
	// ARM mode, EABI: svc #0 with r7 = number (write 4, exit 1), args r0,
	// r1, r2. The EABI version in e_flags is what tells QEMU and the kernel
	// to take the number from r7 rather than from the svc immediate.
	"armv7l": {elf.ELFCLASS32, binary.LittleEndian, elf.EM_ARM, 0x05000000, func(msg uint32) []byte {
		return words(binary.LittleEndian,
			armMov(0, 1),
			armMovw(1, msg&0xffff),
			armMovt(1, msg>>16),
			armMov(2, 3),
			armMov(7, 4),
			0xef000000, // svc #0
			armMov(0, 0),
			armMov(7, 1),
			0xef000000, // svc #0
		)
	}},
	// sc: r0 = number (write 4, exit 1), args r3, r4, r5. e_flags 2 marks
	// the ELFv2 ABI, the only one little-endian ppc64 has; the entry point
	// is then code, not a function descriptor.
	"powerpc64le": {elf.ELFCLASS64, binary.LittleEndian, elf.EM_PPC64, 2, func(msg uint32) []byte {
		return words(binary.LittleEndian,
			ppcLi(0, 4),
			ppcLi(3, 1),
			ppcLis(4, msg>>16),
			ppcOri(4, 4, msg&0xffff),
			ppcLi(5, 3),
			0x44000002, // sc
			ppcLi(0, 1),
			ppcLi(3, 0),
			0x44000002, // sc
		)
	}},
	// Big-endian. svc N with the number in the instruction (write 4,
	// exit 1), args r2, r3, r4.
	"s390x": {elf.ELFCLASS64, binary.BigEndian, elf.EM_S390, 0, func(msg uint32) []byte {
		return join(
			s390Lghi(2, 1),
			s390Lgfi(3, msg),
			s390Lghi(4, 3),
			[]byte{0x0a, 0x04}, // svc 4 (write)
			s390Lghi(2, 0),
			[]byte{0x0a, 0x01}, // svc 1 (exit)
		)
	}},
}

// Probe returns the probe executable for s.
func Probe(s system.System) ([]byte, error) {
	a, ok := probeArchs[s.Arch]
	if !ok || !s.Linux() {
		return nil, fmt.Errorf("no probe for %s", s)
	}
	return a.assemble(), nil
}

// assemble lays out: ELF header, one program header, the message, then
// the code (8-byte aligned), all in one read+execute segment that maps the
// whole file.
func (a probeArch) assemble() []byte {
	ehsize, phsize := 52, 32
	if a.class == elf.ELFCLASS64 {
		ehsize, phsize = 64, 56
	}
	msgOff := ehsize + phsize
	codeOff := (msgOff + len(probeMessage) + 7) &^ 7
	code := a.code(uint32(probeBase + msgOff))
	size := codeOff + len(code)
	entry := uint64(probeBase + codeOff)

	var ident [elf.EI_NIDENT]byte
	copy(ident[:], elf.ELFMAG)
	ident[elf.EI_CLASS] = byte(a.class)
	ident[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	if a.order == binary.BigEndian {
		ident[elf.EI_DATA] = byte(elf.ELFDATA2MSB)
	}
	ident[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	ident[elf.EI_OSABI] = byte(elf.ELFOSABI_NONE)

	var buf bytes.Buffer
	if a.class == elf.ELFCLASS64 {
		binary.Write(&buf, a.order, elf.Header64{
			Ident: ident, Type: uint16(elf.ET_EXEC), Machine: uint16(a.machine),
			Version: uint32(elf.EV_CURRENT), Entry: entry, Phoff: uint64(ehsize),
			Flags: a.flags, Ehsize: uint16(ehsize), Phentsize: uint16(phsize), Phnum: 1,
		})
		binary.Write(&buf, a.order, elf.Prog64{
			Type: uint32(elf.PT_LOAD), Flags: uint32(elf.PF_R | elf.PF_X),
			Vaddr: probeBase, Paddr: probeBase, Filesz: uint64(size), Memsz: uint64(size), Align: probeAlign,
		})
	} else {
		binary.Write(&buf, a.order, elf.Header32{
			Ident: ident, Type: uint16(elf.ET_EXEC), Machine: uint16(a.machine),
			Version: uint32(elf.EV_CURRENT), Entry: uint32(entry), Phoff: uint32(ehsize),
			Flags: a.flags, Ehsize: uint16(ehsize), Phentsize: uint16(phsize), Phnum: 1,
		})
		binary.Write(&buf, a.order, elf.Prog32{
			Type: uint32(elf.PT_LOAD), Flags: uint32(elf.PF_R | elf.PF_X),
			Vaddr: probeBase, Paddr: probeBase, Filesz: uint32(size), Memsz: uint32(size), Align: probeAlign,
		})
	}
	buf.WriteString(probeMessage)
	buf.Write(make([]byte, codeOff-buf.Len()))
	buf.Write(code)
	return buf.Bytes()
}

func join(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func words(order binary.ByteOrder, ws ...uint32) []byte {
	out := make([]byte, 4*len(ws))
	for i, w := range ws {
		order.PutUint32(out[4*i:], w)
	}
	return out
}

// x86: mov $imm32, %reg is the opcode byte (0xb8 + register) and imm32.
func x86MovImm(op byte, imm uint32) []byte {
	return binary.LittleEndian.AppendUint32([]byte{op}, imm)
}

// aarch64 MOVZ/MOVK (64-bit): sf=1, hw = shift/16, imm16, Rd.
func a64Movz(rd, imm, shift uint32) uint32 { return 0xd2800000 | shift/16<<21 | imm<<5 | rd }
func a64Movk(rd, imm, shift uint32) uint32 { return 0xf2800000 | shift/16<<21 | imm<<5 | rd }

// RISC-V ADDI (I-type, opcode 0x13) and LUI (U-type, opcode 0x37).
func rvAddi(rd, rs1 uint32, imm int32) uint32 {
	return uint32(imm)&0xfff<<20 | rs1<<15 | rd<<7 | 0x13
}
func rvLui(rd, imm20 uint32) uint32 { return imm20<<12 | rd<<7 | 0x37 }

// rvSplit splits an address for LUI+ADDI; ADDI sign-extends its 12 bits,
// so the upper part is rounded.
func rvSplit(addr uint32) (hi uint32, lo int32) {
	hi = (addr + 0x800) >> 12
	return hi, int32(addr - hi<<12)
}

// ARM (A32, condition AL): MOV Rd, #imm8; MOVW/MOVT load 16-bit halves.
func armMov(rd, imm8 uint32) uint32   { return 0xe3a00000 | rd<<12 | imm8 }
func armMovw(rd, imm16 uint32) uint32 { return 0xe3000000 | imm16>>12<<16 | rd<<12 | imm16&0xfff }
func armMovt(rd, imm16 uint32) uint32 { return 0xe3400000 | imm16>>12<<16 | rd<<12 | imm16&0xfff }

// POWER: li = addi rD,0,SIMM; lis = addis rD,0,SIMM; ori rA,rS,UIMM.
func ppcLi(rd, imm uint32) uint32      { return 14<<26 | rd<<21 | imm&0xffff }
func ppcLis(rd, imm uint32) uint32     { return 15<<26 | rd<<21 | imm&0xffff }
func ppcOri(ra, rs, imm uint32) uint32 { return 24<<26 | rs<<21 | ra<<16 | imm&0xffff }

// s390x: LGHI (RI-a, A7x9) and LGFI (RIL-a, C0x1), big-endian immediates.
func s390Lghi(r1 byte, imm uint16) []byte {
	return binary.BigEndian.AppendUint16([]byte{0xa7, r1<<4 | 0x9}, imm)
}
func s390Lgfi(r1 byte, imm uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte{0xc0, r1<<4 | 0x1}, imm)
}
