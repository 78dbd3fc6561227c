//! `hearth run` (and `hearth` alone): runs the device until Ctrl-C or SIGTERM,
//! and tells the person at the terminal what to do next.

use super::Context;
use hearth::config::Config;
use hearth::device::{Device, DeviceOptions};
use hearth::systemd_notify::{watchdog_interval, Notifier};
use std::sync::Arc;

/// Runs the device.
pub fn run(ctx: &Context) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let device = Device::start(DeviceOptions {
            config: ctx.config.clone(),
            data_dir: ctx.data_dir.clone(),
            rtc: None,
            media: None,
        })
        .await?;
        // What is derived from the web server's address names the port it got.
        let config = ctx.config.with_bound_port(device.http_addr);
        device.start_panel()?;
        print_welcome(ctx, &config, &device);
        let notifier = Arc::new(Notifier::from_env().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot talk to systemd; running without readiness notification");
            Notifier::disabled()
        }));
        report(notifier.ready(), "READY");
        report(notifier.status("running; nothing is shared until the owner allows it"), "STATUS");
        if let Some(interval) = watchdog_interval() {
            // Pinged from a task on the device's own runtime: if the runtime
            // wedges (a blocked worker, a deadlock), the pings stop and
            // systemd restarts the service.
            let notifier = notifier.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(interval).await;
                    report(notifier.watchdog(), "WATCHDOG");
                }
            });
        }
        super::shutdown_signal().await;
        report(notifier.stopping(), "STOPPING");
        device.stop().await;
        Ok(())
    })
}

fn print_welcome(ctx: &Context, config: &Config, device: &Device) {
    let code = device.node.contact_code().to_text();
    let data_dir = ctx.data_dir.display();
    println!("Hearth \"{}\" is running.", config.name);
    println!(
        "  camera: {}, microphone: {} (nothing is shared until you allow it)",
        config.video.source, config.audio.source
    );
    let relay = device.node.relay_url();
    match (
        config.relay.urls.is_empty(),
        device.http_addr,
        config.relay.embedded,
    ) {
        (true, Some(_), true) => println!("  relay:  built in, {relay} (stores nothing)"),
        (true, None, true) => println!(
            "  relay:  {relay}, built into the Hearth that already has {} (stores nothing)",
            config.http.listen
        ),
        (true, _, false) => {
            println!("  relay:  {relay} ([relay] embedded = false: another program must serve it)")
        }
        (false, addr, embedded) => {
            println!("  relay:  {}", config.relay_urls().join(", "));
            if let (Some(addr), true) = (addr, embedded) {
                println!("          also built in at ws://{addr}/relay (stores nothing)");
            }
        }
    }
    if device.http_addr.is_some() {
        // Where others reach it: the LAN address for 0.0.0.0, the real port for port 0.
        let addr = config.web_address();
        println!("  web:    http://{addr}/");
        println!(
            "  whep:   http://{addr}/whep (players need a token: `hearth contacts add-token NAME`)"
        );
    }
    let link = hearth::web::viewer_link(&hearth::web::viewer_page(config), &code);
    println!("  viewer: {link}");
    match hearth::web::phone_link(config, &code) {
        None => println!("          ({})", hearth::web::PHONES_NEED),
        Some(phone) if phone != link => println!("  phones: {phone}"),
        Some(_) => {}
    }
    println!("  data:   {data_dir}");
    println!();
    println!("Next steps:");
    println!("  1. Give family this device's contact code (also: `hearth --data-dir {data_dir} id` shows a QR code):");
    println!("       {code}");
    println!("  2. Add a family member's code:   hearth --data-dir {data_dir} contacts add CODE");
    println!("  3. Let them watch:               hearth --data-dir {data_dir} contacts allow NAME live_video,live_audio");
    println!("  Stop with Ctrl-C.");
}

fn report(result: Result<(), hearth::systemd_notify::NotifyError>, what: &str) {
    if let Err(e) = result {
        tracing::warn!(error = %e, "could not tell systemd {what}");
    }
}
