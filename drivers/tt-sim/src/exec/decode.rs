//! RV32IM instruction decoding into a compact form the interpreter caches per pc.

/// What an instruction does, with its operands already extracted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Kind {
    Lui,
    Auipc,
    Jal,
    Jalr,
    Beq,
    Bne,
    Blt,
    Bge,
    Bltu,
    Bgeu,
    Lb,
    Lh,
    Lw,
    Lbu,
    Lhu,
    Sb,
    Sh,
    Sw,
    Addi,
    Slti,
    Sltiu,
    Xori,
    Ori,
    Andi,
    Slli,
    Srli,
    Srai,
    Add,
    Sub,
    Sll,
    Slt,
    Sltu,
    Xor,
    Srl,
    Sra,
    Or,
    And,
    Mul,
    Mulh,
    Mulhsu,
    Mulhu,
    Div,
    Divu,
    Rem,
    Remu,
    /// FENCE and FENCE.I: the simulator's memory is always coherent.
    Fence,
    Ecall,
    Ebreak,
    /// CSR read-modify-write; `imm` is the CSR number, `rs1` the source register.
    Csrrw,
    Csrrs,
    Csrrc,
    /// As above with `rs1` holding a 5-bit immediate instead of a register number.
    Csrrwi,
    Csrrsi,
    Csrrci,
    Illegal,
}

/// Register index that absorbs writes to `x0`, so execution never tests `rd == 0`.
pub(crate) const SINK: u8 = 32;

/// A decoded instruction. Register fields are below 64, so the interpreter may index a
/// 64-entry register file with `& 63` and no bounds check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Op {
    pub(crate) kind: Kind,
    /// Destination register ([`SINK`] for `x0`).
    pub(crate) rd: u8,
    pub(crate) rs1: u8,
    pub(crate) rs2: u8,
    /// Sign-extended immediate (shift amount, CSR number or offset, as the kind needs).
    pub(crate) imm: i32,
}

impl Op {
    const ILLEGAL: Op = Op { kind: Kind::Illegal, rd: SINK, rs1: 0, rs2: 0, imm: 0 };
}

fn bits(word: u32, hi: u32, lo: u32) -> u32 {
    (word >> lo) & ((1 << (hi - lo + 1)) - 1)
}

fn imm_i(w: u32) -> i32 {
    (w as i32) >> 20
}

fn imm_s(w: u32) -> i32 {
    (((w & 0xfe00_0000) as i32) >> 20) | bits(w, 11, 7) as i32
}

fn imm_b(w: u32) -> i32 {
    (((w & 0x8000_0000) as i32) >> 19)
        | (bits(w, 7, 7) << 11) as i32
        | (bits(w, 30, 25) << 5) as i32
        | (bits(w, 11, 8) << 1) as i32
}

fn imm_j(w: u32) -> i32 {
    (((w & 0x8000_0000) as i32) >> 11)
        | (bits(w, 19, 12) << 12) as i32
        | (bits(w, 20, 20) << 11) as i32
        | (bits(w, 30, 21) << 1) as i32
}

/// Decodes one 32-bit instruction word; anything outside RV32IM (including every 16-bit
/// compressed encoding) is [`Kind::Illegal`].
pub(crate) fn decode(w: u32) -> Op {
    if w & 3 != 3 {
        return Op::ILLEGAL;
    }
    let rd = bits(w, 11, 7) as u8;
    let rd = if rd == 0 { SINK } else { rd };
    let rs1 = bits(w, 19, 15) as u8;
    let rs2 = bits(w, 24, 20) as u8;
    let funct3 = bits(w, 14, 12);
    let funct7 = bits(w, 31, 25);
    let op = |kind, imm| Op { kind, rd, rs1, rs2, imm };
    match w & 0x7f {
        0x37 => op(Kind::Lui, (w & 0xffff_f000) as i32),
        0x17 => op(Kind::Auipc, (w & 0xffff_f000) as i32),
        0x6f => op(Kind::Jal, imm_j(w)),
        0x67 if funct3 == 0 => op(Kind::Jalr, imm_i(w)),
        0x63 => {
            let kind = match funct3 {
                0 => Kind::Beq,
                1 => Kind::Bne,
                4 => Kind::Blt,
                5 => Kind::Bge,
                6 => Kind::Bltu,
                7 => Kind::Bgeu,
                _ => return Op::ILLEGAL,
            };
            op(kind, imm_b(w))
        }
        0x03 => {
            let kind = match funct3 {
                0 => Kind::Lb,
                1 => Kind::Lh,
                2 => Kind::Lw,
                4 => Kind::Lbu,
                5 => Kind::Lhu,
                _ => return Op::ILLEGAL,
            };
            op(kind, imm_i(w))
        }
        0x23 => {
            let kind = match funct3 {
                0 => Kind::Sb,
                1 => Kind::Sh,
                2 => Kind::Sw,
                _ => return Op::ILLEGAL,
            };
            op(kind, imm_s(w))
        }
        0x13 => {
            let kind = match (funct3, funct7) {
                (0, _) => Kind::Addi,
                (2, _) => Kind::Slti,
                (3, _) => Kind::Sltiu,
                (4, _) => Kind::Xori,
                (6, _) => Kind::Ori,
                (7, _) => Kind::Andi,
                // RV32 shifts: shamt[5] (bit 25) must be 0, so funct7 is exactly 0 or 0x20.
                (1, 0x00) => Kind::Slli,
                (5, 0x00) => Kind::Srli,
                (5, 0x20) => Kind::Srai,
                _ => return Op::ILLEGAL,
            };
            let imm = if matches!(funct3, 1 | 5) { rs2 as i32 } else { imm_i(w) };
            op(kind, imm)
        }
        0x33 => {
            let kind = match (funct7, funct3) {
                (0x00, 0) => Kind::Add,
                (0x20, 0) => Kind::Sub,
                (0x00, 1) => Kind::Sll,
                (0x00, 2) => Kind::Slt,
                (0x00, 3) => Kind::Sltu,
                (0x00, 4) => Kind::Xor,
                (0x00, 5) => Kind::Srl,
                (0x20, 5) => Kind::Sra,
                (0x00, 6) => Kind::Or,
                (0x00, 7) => Kind::And,
                (0x01, 0) => Kind::Mul,
                (0x01, 1) => Kind::Mulh,
                (0x01, 2) => Kind::Mulhsu,
                (0x01, 3) => Kind::Mulhu,
                (0x01, 4) => Kind::Div,
                (0x01, 5) => Kind::Divu,
                (0x01, 6) => Kind::Rem,
                (0x01, 7) => Kind::Remu,
                _ => return Op::ILLEGAL,
            };
            op(kind, 0)
        }
        0x0f if funct3 <= 1 => op(Kind::Fence, 0),
        0x73 => {
            let csr = bits(w, 31, 20) as i32;
            match funct3 {
                0 if w == 0x0000_0073 => op(Kind::Ecall, 0),
                0 if w == 0x0010_0073 => op(Kind::Ebreak, 0),
                1 => op(Kind::Csrrw, csr),
                2 => op(Kind::Csrrs, csr),
                3 => op(Kind::Csrrc, csr),
                5 => op(Kind::Csrrwi, csr),
                6 => op(Kind::Csrrsi, csr),
                7 => op(Kind::Csrrci, csr),
                _ => Op::ILLEGAL,
            }
        }
        _ => Op::ILLEGAL,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn immediates_sign_extend_and_x0_is_the_sink() {
        // beq x0, x0, -4 : imm[12|10:5] = 1111111, imm[4:1|11] = 11101
        let b = decode(0xfe00_0ee3);
        assert_eq!((b.kind, b.imm), (Kind::Beq, -4));
        // jal x0, -8
        let j = decode(0xff9f_f06f);
        assert_eq!((j.kind, j.rd, j.imm), (Kind::Jal, SINK, -8));
        // sw x5, -4(x2)
        let s = decode(0xfe51_2e23);
        assert_eq!((s.kind, s.rs1, s.rs2, s.imm), (Kind::Sw, 2, 5, -4));
        // addi x1, x0, -1
        let i = decode(0xfff0_0093);
        assert_eq!((i.kind, i.rd, i.imm), (Kind::Addi, 1, -1));
    }

    #[test]
    fn non_rv32im_encodings_are_illegal() {
        for word in [
            0,
            0xffff_ffff,
            0x4501,
            0x0200_1093, /* slli shamt 32 */
            0x3020_0073, /* mret */
        ] {
            assert_eq!(decode(word).kind, Kind::Illegal, "{word:#x}");
        }
    }
}
