//! The kernels shipped with the runtime (built from `kernels/src` by `kernels/build.sh`),
//! compiled into the library so tools need no files at run time.

use tt_soc::l1_map::{FIRMWARE_SLOT_BYTES, TENSIX_KERNEL_REGION};

use crate::{KernelImage, ProgramError};

macro_rules! kernels {
    ($($name:literal),* $(,)?) => {
        /// Names of the built-in kernels.
        pub const BUILTIN_KERNELS: &[&str] = &[$($name),*];

        fn builtin_elf(name: &str) -> Option<&'static [u8]> {
            match name {
                $($name => Some(include_bytes!(concat!("../../../kernels/elf/", $name, ".elf"))),)*
                _ => None,
            }
        }
    };
}

kernels![
    "dispatch",
    "fabric",
    "reader",
    "compute_add",
    "writer",
    "loopback",
    "reduce",
    "tight_loop",
    "spin",
    "fault"
];

/// The built-in kernel `name` (see [`BUILTIN_KERNELS`]), validated for a Tensix kernel region.
pub fn builtin_kernel(name: &str) -> Result<KernelImage, ProgramError> {
    let elf = builtin_elf(name).ok_or_else(|| ProgramError::BadKernel {
        name: name.to_string(),
        reason: format!(
            "no built-in kernel of that name; built-in kernels are {}",
            BUILTIN_KERNELS.join(", ")
        ),
    })?;
    KernelImage::from_elf(
        &format!("{name}.elf (built in)"),
        elf,
        TENSIX_KERNEL_REGION.end - TENSIX_KERNEL_REGION.start,
    )
}

/// Our firmware (`kernels/src/firmware.c`), validated for a firmware slot: the image the
/// session writes at each RISC-V core's reset pc and counts as SYSTEM, `image().len()` bytes
/// per slot.
pub fn firmware() -> Result<KernelImage, ProgramError> {
    let elf = include_bytes!("../../../kernels/elf/firmware.elf");
    KernelImage::from_elf("firmware.elf (built in)", elf, FIRMWARE_SLOT_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_kernel_validates() {
        for name in BUILTIN_KERNELS {
            let k = builtin_kernel(name).unwrap();
            assert!(k.placed_bytes() > 0 && k.placed_bytes() % 16 == 0, "{name}");
        }
        let err = builtin_kernel("nope").unwrap_err().to_string();
        assert!(err.contains("nope") && err.contains("tight_loop"), "{err}");
    }
}
