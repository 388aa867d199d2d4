//! QR codes for GS1 Digital Link URIs (what a consumer scans on a pack): SVG text and PNG bytes.
//! Pure: the caller decides where the image goes.

use qrcode::{Color, EcLevel, QrCode};

use super::gs1;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QrError {
    #[error("uri: {0}")]
    Gs1(#[from] gs1::Gs1Error),
    #[error("uri: cannot be encoded as a QR code: {0}")]
    Encode(String),
    #[error("png: {0}")]
    Png(String),
    #[error("scale: {0} must be 1..=32 pixels per module")]
    Scale(u32),
}

/// Quiet zone around the symbol, in modules (ISO/IEC 18004 asks for 4).
pub const QUIET_ZONE: u32 = 4;

fn encode(uri: &str) -> Result<QrCode, QrError> {
    // Level M: the GS1 Digital Link guideline's usual choice for packaging.
    QrCode::with_error_correction_level(uri.as_bytes(), EcLevel::M).map_err(|e| QrError::Encode(e.to_string()))
}

/// The QR symbol as rows of dark (`true`) / light modules, without quiet zone.
pub fn modules(uri: &str) -> Result<Vec<Vec<bool>>, QrError> {
    let code = encode(uri)?;
    let w = code.width();
    let colors = code.to_colors();
    Ok(colors.chunks(w).map(|row| row.iter().map(|c| *c == Color::Dark).collect()).collect())
}

/// SVG document of the QR code for `uri`.
pub fn svg(uri: &str) -> Result<String, QrError> {
    let code = encode(uri)?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .dark_color(qrcode::render::svg::Color("#000000"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .build())
}

/// PNG (8-bit greyscale) of the QR code for `uri`, `scale` pixels per module, with a 4-module quiet
/// zone.
pub fn png(uri: &str, scale: u32) -> Result<Vec<u8>, QrError> {
    if !(1..=32).contains(&scale) {
        return Err(QrError::Scale(scale));
    }
    let rows = modules(uri)?;
    let n = rows.len() as u32;
    let side = (n + 2 * QUIET_ZONE) * scale;
    let mut pixels = vec![255u8; (side * side) as usize];
    for (y, row) in rows.iter().enumerate() {
        for (x, dark) in row.iter().enumerate() {
            if !dark {
                continue;
            }
            let (px, py) = ((x as u32 + QUIET_ZONE) * scale, (y as u32 + QUIET_ZONE) * scale);
            for dy in 0..scale {
                let start = ((py + dy) * side + px) as usize;
                if let Some(span) = pixels.get_mut(start..start + scale as usize) {
                    span.fill(0);
                }
            }
        }
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, side, side);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(|e| QrError::Png(e.to_string()))?;
        writer.write_image_data(&pixels).map_err(|e| QrError::Png(e.to_string()))?;
        writer.finish().map_err(|e| QrError::Png(e.to_string()))?;
    }
    Ok(out)
}

/// The Digital Link of a lot on the platform's resolver host and its QR code (SVG, PNG).
pub fn lot_qr(host: &str, gtin: &str, lot: &str, scale: u32) -> Result<(String, String, Vec<u8>), QrError> {
    let uri = gs1::lot_digital_link(host, gtin, lot)?;
    let s = svg(&uri)?;
    let p = png(&uri, scale)?;
    Ok((uri, s, p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lot_qr_renders_svg_and_png() {
        let (uri, svg, png_bytes) = lot_qr("https://trace.example.cn", "6901234567892", "L2026-03", 4).expect("qr");
        assert_eq!(uri, "https://trace.example.cn/01/06901234567892/10/L2026-03");
        assert!(svg.starts_with("<?xml") && svg.contains("<svg") && svg.contains("#000000"));
        assert_eq!(&png_bytes[..8], b"\x89PNG\r\n\x1a\n");
        // Decode and check the finder pattern at the top-left corner and the quiet zone.
        let dec = ::png::Decoder::new(std::io::Cursor::new(&png_bytes));
        let mut reader = dec.read_info().expect("png header");
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).expect("png frame");
        let n = modules(&uri).expect("modules").len() as u32;
        assert_eq!(info.width, (n + 8) * 4);
        let px = |x: u32, y: u32| buf[(y * info.width + x) as usize];
        assert_eq!(px(0, 0), 255, "quiet zone is light");
        assert_eq!(px(16, 16), 0, "finder pattern corner is dark");
        assert!(matches!(lot_qr("https://x", "6901234567893", "L", 4), Err(QrError::Gs1(_))));
        assert!(matches!(super::png(&uri, 0), Err(QrError::Scale(0))));
    }
}
