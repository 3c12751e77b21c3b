# Los detalles de la autocomprobación (docs/design.md §5, "Self-check"): un texto por comprobación
# y resultado, con lo esperado y lo encontrado. Los nombres de claims y cabeceras quedan como en
# la petición.
check-not-run = no se pudo ejecutar porque falló la comprobación { $because }
check-key_state-ok = su clave activa { $kid }, que caduca el { $expires_at }, es la clave que usan estas comprobaciones
check-key_state-public_key_required = esta clave de API aún no tiene clave pública: suba una y firme con su clave privada
check-key_state-public_key_expired = la clave pública de esta clave de API ha caducado: suba una nueva clave pública y firme con su clave privada
check-key_state-public_key_revoked = la clave pública de esta clave de API fue revocada: suba una nueva clave pública y firme con su clave privada
check-jws-ok = X-Request-Signature es un JWS compacto: tres partes base64url, una cabecera JSON sin crit y un objeto JSON de claims
check-jws-missing = no se ha indicado X-Request-Signature: pegue el JWS compacto hecho para este método, ruta y cuerpo
check-jws-not-ascii = X-Request-Signature no es ASCII: envíe el JWS compacto tal como se hizo (tres partes base64url separadas por puntos)
check-jws-several = la petición tiene más de una cabecera X-Request-Signature, así que no se usa ninguna: envíe exactamente una, el JWS compacto hecho para este método, ruta y cuerpo
check-jws-not-compact = X-Request-Signature no es un JWS compacto: envíe sus tres partes base64url separadas por puntos (cabecera.contenido.firma), tal como las generó su biblioteca JOSE
check-jws-malformed-header = la cabecera del JWS (la primera parte) no es el base64url de un objeto JSON con alg, kid y typ como cadenas de texto y cada campo una sola vez: deje que su biblioteca JOSE genere la cabecera
check-jws-crit = la cabecera del JWS tiene crit, pero keygate no admite ninguna extensión de JWS: firme sin crit
check-jws-malformed-claims = el contenido del JWS (la segunda parte) no es el base64url de un objeto JSON en UTF-8 con claims de los tipos esperados (iat, exp y nbf, números; jti, htm, htu, body_sha256 y ath, cadenas de texto): firme un objeto JSON de claims
check-jws-invalid = X-Request-Signature no es un JWS compacto válido: envíe el JWS hecho para este método, ruta y cuerpo, tal como se hizo
check-alg-ok = alg { $alg } está permitido (permitidos: { $allowed })
check-alg-missing = la cabecera del JWS no tiene alg: se espera uno de { $allowed }
check-alg-not-allowed = alg { $alg } no está permitido: se espera uno de { $allowed } (nunca none, nunca un algoritmo HMAC)
check-kid-ok = kid { $kid } es el id de su clave activa
check-kid-absent = no se envió kid, así que se usa su clave activa { $expected } (se recomienda enviarlo como kid)
check-kid-mismatch = kid { $kid } no es el id de su clave activa, { $expected }: firme con la clave privada de la clave activa y envíe su id como kid
check-signature-ok = la firma { $alg } se verifica con su clave activa { $kid }
check-signature-bad = la firma { $alg } no se verifica con su clave activa { $kid }: firme con la clave privada cuya clave pública está activa, sobre la cabecera y el contenido del JWS tal como se envían
check-iat-ok = iat { $iat } está { $seconds } s { $direction ->
        [behind] por detrás de
        [ahead] por delante de
       *[same] de distancia de
    } la hora del servidor { $now }; se admiten como mucho { $skew } s en cualquier sentido
check-iat-missing = falta el claim iat o no es un número: ponga en iat la hora de la firma en segundos desde 1970 (la hora del servidor es { $now })
check-iat-stale = iat { $iat } está { $seconds } s { $direction ->
        [behind] por detrás de
        [ahead] por delante de
       *[same] de distancia de
    } la hora del servidor { $now }; se admiten como mucho { $skew } s en cualquier sentido: firme cada petición al enviarla y revise su reloj
check-exp-none = no hay claim exp ni nbf (ambos son opcionales)
check-exp-ok = exp { $exp } es posterior a la hora del servidor { $now }
check-exp-nbf-ok = nbf { $nbf } no supera en más de { $skew } s la hora del servidor { $now }
check-exp-expired = exp { $exp } no es posterior a la hora del servidor { $now }: la firma ha caducado; firme cada petición al enviarla, con un exp (si lo hay) posterior
check-exp-not-yet-valid = nbf { $nbf } supera en más de { $skew } s la hora del servidor { $now }: la firma aún no es válida; revise su reloj
check-jti-ok = jti tiene { $chars } caracteres (se admiten de 16 a 128) y no se usó antes; la autocomprobación no lo registra
check-jti-missing = falta el claim jti: envíe un jti aleatorio nuevo de 16 a 128 caracteres en cada petición (sirve un UUID)
check-jti-length = jti tiene { $chars } caracteres; se admiten de 16 a 128 (sirve un UUID)
check-jti-characters = jti contiene un carácter de control: use solo caracteres imprimibles (sirve un UUID)
check-jti-used = este jti ya lo usó una llamada firmada en los últimos { $skew } s, así que la pasarela la rechazaría (signature_replayed): use un jti nuevo en cada petición
check-htm-ok = htm { $sent } es el método de esta petición
check-htm-missing = falta el claim htm: ponga en htm el método de la petición, { $expected }
check-htm-mismatch = htm { $sent } no es el método de esta petición, { $expected }: firme el método que envía
check-htu-ok = htu { $sent } coincide con la ruta y la consulta de esta petición, { $expected }
check-htu-missing = falta el claim htu: ponga en htu la ruta y la consulta de esta petición, { $expected }
check-htu-mismatch = htu { $sent } no coincide con la ruta y la consulta de esta petición, { $expected }: firme exactamente la ruta y la consulta que envía (una URL absoluta se compara por su ruta y consulta)
check-body_sha256-ok = body_sha256 es el SHA-256 del cuerpo recibido de { $bytes } bytes
check-body_sha256-missing = falta el claim body_sha256: ponga el SHA-256 en base64url (sin relleno) de los bytes exactos del cuerpo; para el cuerpo recibido de { $bytes } bytes es { $expected }
check-body_sha256-mismatch = body_sha256 { $sent } no es el SHA-256 del cuerpo recibido de { $bytes } bytes, que es { $expected } (base64url, sin relleno): calcule el hash exactamente de los bytes que envía, tras serializarlos
check-ath-ok = ath es el SHA-256 del token de acceso de esta petición
check-ath-none = no hay claim ath (opcional; si se envía, debe ser el SHA-256 en base64url del token de acceso)
check-ath-mismatch = ath no es el SHA-256 del token de acceso de esta petición (base64url, sin relleno): calcule el hash del token que envía en Authorization
check-ath-no-token = se firmó ath, pero no se indicó ningún token de acceso con el que compararlo: pegue el token que envía en Authorization (no se guarda ni se muestra)
