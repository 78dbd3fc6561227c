//! `hearth press BUTTON`: presses a button of the running device, the way the
//! simulated buttons are pressed on a laptop (and for testing a Pi remotely).

use super::Context;
use hearth::hardware::buttons::{press, socket_path, Action, Button};

/// Arguments of `hearth press`.
#[derive(clap::Args)]
pub struct PressArgs {
    /// privacy, snapshot, yes or no.
    button: Button,
    /// A long press instead of a short one.
    #[arg(long)]
    long: bool,
}

/// Runs `hearth press`.
pub fn run(ctx: &Context, args: PressArgs) -> anyhow::Result<()> {
    let action = if args.long {
        Action::LongPress
    } else {
        Action::Press
    };
    press(&socket_path(&ctx.data_dir), args.button, action)?;
    println!("Pressed {}.", args.button.name());
    Ok(())
}
