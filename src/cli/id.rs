//! `hearth id`: prints the device's contact code and the viewer link that
//! carries it, the link also as a QR code.

use super::Context;
use hearth::identity::Identity;
use qrcode::render::unicode::Dense1x2;
use qrcode::QrCode;

/// Arguments of `hearth id`.
#[derive(clap::Args)]
pub struct IdArgs {
    /// Print only the code text (for scripts).
    #[arg(long)]
    quiet: bool,
}

/// Runs `hearth id`.
pub fn run(ctx: &Context, args: IdArgs) -> anyhow::Result<()> {
    let identity = Identity::load_or_create(&ctx.data_dir)?;
    let code = identity
        .contact_code(&ctx.config.name, &ctx.config.relay_urls())
        .to_text();
    if args.quiet {
        println!("{code}");
        return Ok(());
    }
    let link = hearth::web::viewer_link(&hearth::web::viewer_page(&ctx.config), &code);
    let phone = hearth::web::phone_link(&ctx.config, &code);
    // The QR code is for phones: their link when there is one.
    let qr = QrCode::new(phone.as_deref().unwrap_or(&link).as_bytes())?;
    let picture = qr
        .render::<Dense1x2>()
        .dark_color(Dense1x2::Light)
        .light_color(Dense1x2::Dark)
        .quiet_zone(true)
        .build();
    println!("{picture}");
    println!("Device:   {}", ctx.config.name);
    println!("Key:      {}", identity.peer_key());
    println!("Contact code (give it to family so they can pair):\n{code}");
    match phone {
        Some(phone) if phone == link => println!("Viewer link (family open it on a phone or laptop; the QR code above is this link):\n{link}"),
        Some(phone) => {
            println!("Viewer link on this machine:\n{link}");
            println!("Viewer link for phones and laptops on the same network (the QR code above is this link):\n{phone}");
        }
        None => {
            println!("Viewer link (the QR code above is this link):\n{link}");
            println!("Note: {}.", hearth::web::PHONES_NEED);
        }
    }
    Ok(())
}
