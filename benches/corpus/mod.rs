//! What the benchmarks' generated mails are made of: a deterministic generator and the
//! Spanish and English sentences (demands, events, numbers, no-rush) bodies are built from.

/// A small deterministic generator (64-bit LCG), so every run reads the same bodies.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    pub fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next()).unwrap_or(0) % n.max(1)
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items.get(self.below(items.len())).copied().unwrap_or("")
    }
}

pub const ES_GREETING: &[&str] = &["Hola Ana,", "Buenos días,", "Buenas tardes Ana:", "Hola!"];
pub const ES_TEXT: &[&str] = &[
    "Te escribo por lo de la web de la tienda, que sigue sin cargar bien en el móvil.",
    "Lo necesito para el viernes a las 12, que el lunes empieza la campaña.",
    "El martes tengo reunión con el distribuidor, así que mándamelo antes del lunes.",
    "Las fotos nuevas están en la carpeta compartida, son 45 en total.",
    "El precio final que nos pasaron es de 1.250,00 € más IVA.",
    "Cuando puedas revisa también el formulario de contacto, no es urgente.",
    "¿Podrías tenerlo listo mañana por la mañana? Es para una presentación.",
    "Nuestro teléfono nuevo es el 91 123 45 67, por si hay que cambiarlo en el pie.",
    "Gracias por lo del martes pasado, quedó perfecto.",
    "Si te viene mejor, lo vemos la semana que viene en una llamada.",
    "Necesito que actualices los horarios ya, hoy abrimos más tarde.",
    "Te adjunto el pedido 458812 y la factura 2025-113 para que lo revises.",
];
pub const ES_SIGNATURE: &[&str] = &[
    "Un saludo,\nJorge",
    "Gracias!\nMarta\nTienda Sol",
    "Saludos,\nLuis",
];
pub const EN_GREETING: &[&str] = &["Hi Ana,", "Hello,", "Good morning Ana,", "Hey,"];
pub const EN_TEXT: &[&str] = &[
    "Following up on the landing page: the hero image still looks blurry on mobile.",
    "Could you send the final files by Thursday at 11? We print on Friday.",
    "The meeting with the board is on the 14th, so please have the deck ready before that.",
    "Our order #55123 arrived yesterday, thanks for sorting it out.",
    "The quote came to $2,450.00, which is within budget.",
    "No rush on the blog post, whenever you have a moment.",
    "I need the newsletter template asap, it goes out tonight.",
    "Call me on 020 7946 0958 if anything comes up.",
    "We won't need the brochure by Monday after all, the fair was cancelled.",
    "Let's aim for end of next week for the second round of changes.",
    "Version 2.3.1 of the app is live, so the screenshots need updating.",
    "Please reply within 48 hours so we can book the printer.",
];
pub const EN_SIGNATURE: &[&str] = &[
    "Thanks,\nMark",
    "Best regards,\nSarah Lee\nHead of Marketing",
    "Cheers,\nTom",
];
