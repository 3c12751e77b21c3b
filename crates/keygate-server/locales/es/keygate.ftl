# keygate web page — Español. Cada id de mensaje debe existir también en en y el.

app-name = keygate · Certificado de API
skip-to-content = Saltar al contenido
lang-switcher = Idioma
logout = Cerrar sesión
footer = Su clave pública se usa para comprobar sus solicitudes de API firmadas y para cifrar los datos confidenciales que se le envían.
who = { $client } · clave de API «{ $apikey }»

## Fechas (UTC)
date = { $dd }/{ $mm }/{ $year }
date-time = { $date }, { $time } UTC
month-1 = ene
month-2 = feb
month-3 = mar
month-4 = abr
month-5 = may
month-6 = jun
month-7 = jul
month-8 = ago
month-9 = sept
month-10 = oct
month-11 = nov
month-12 = dic

## Inicio de sesión
login-title = Iniciar sesión
login-intro = Inicie sesión con su clave de API y su contraseña para gestionar su clave pública.
login-api-key = Clave de API
login-password = Contraseña
login-submit = Iniciar sesión

## La página
page-title = Certificado de API
page-intro = Registre la clave pública RSA de esta clave de API. Sus llamadas a la API se firman con la clave privada correspondiente, que nunca sale de sus sistemas.
notice-uploaded = Su clave pública se ha subido y ya está activa.
notice-revoked = Su clave pública se ha revocado. Sus llamadas a la API se rechazan hasta que suba una clave nueva.
notice-staged = Su clave sucesora se ha preparado. Se activa cuando la clave actual caduque o se revoque, o cuando usted la active.
notice-withdrawn = La sucesora preparada se ha retirado. No se puede volver a registrar nunca: prepare la clave pública de un nuevo par de claves cuando esté listo.
notice-activated = Su clave sucesora ya está activa.
current-heading = Clave actual
active-summary = Clave activa { $fingerprint }, emitida el { $issued }, válida hasta el { $expires }.
expiry-banner = Su clave pública caduca el { $date } (dentro de { $days } días). Genere ahora un nuevo par de claves y prepare su clave pública como sucesora: toma el relevo cuando esta clave caduque, sin interrupción.
expiry-banner-link = Preparar la sucesora
no-active-key = Sin clave activa: sus llamadas a la API se rechazan hasta que suba una.
no-key-yet = Todavía no se ha subido ninguna clave pública para esta clave de API.
last-key-revoked = Su última clave se revocó el { $when }.
last-key-expired = Su última clave caducó el { $date }.
revoke = Revocar clave

upload-heading = Subir una clave pública
upload-while-active = Esta clave de API ya tiene una clave activa. Para sustituirla sin interrupción, prepare su sucesora más arriba; para subir una aquí, revoque primero la clave activa.
upload-paste-label = Clave pública (PEM)
upload-paste-hint = Pegue la clave pública completa, desde -----BEGIN PUBLIC KEY----- hasta -----END PUBLIC KEY-----. No pegue nunca una clave privada.
upload-file-label = O elija un archivo .pem
upload-submit = Subir

history-heading = Sus claves
history-caption = Todas las claves públicas de esta clave de API, de la más reciente a la más antigua
history-empty = Todavía no hay claves.
col-public-key = Clave pública
col-issued = Fecha de emisión
col-expires = Fecha de caducidad
col-status = Estado
view-key = Ver clave

activity-heading = Actividad
activity-caption = Lo que se hizo con esta clave de API, lo más reciente primero
activity-empty = Nada todavía.
col-when = Cuándo
col-event = Qué
col-actor = Quién
col-source = Desde
actor-you = Usted
actor-operator = El operador del banco
actor-keygate = keygate (automático)
actor-other = Otra persona
event-key-uploaded = Clave pública subida
event-key-revoked = Clave pública revocada
event-key-expiring = La clave pública caduca pronto
event-key-expired = La clave pública caducó
event-key-successor_activated = La clave sucesora pasó a estar activa
event-login-locked = Inicios de sesión bloqueados tras demasiados fallos
event-client-created = Cliente creado
event-client-updated = Cliente modificado
event-api_key-created = Clave de API creada
event-api_key-updated = Clave de API modificada
event-key-successor_staged = Clave sucesora preparada
event-key-successor_withdrawn = Clave sucesora retirada
event-key-retired = Clave anterior retirada
event-login-succeeded = Inicio de sesión
event-login-failed = Inicio de sesión fallido
event-logout = Cierre de sesión
event-system_key-created = Clave del sistema creada
event-system_key-rotated = Clave del sistema renovada
event-admin-command = Orden del operador
event-audit-checkpoint = Actividad antigua eliminada (conservación)
status-active = ACTIVA
status-expired = CADUCADA
status-revoked = REVOCADA
status-pending = PENDIENTE
status-retiring = EN RETIRADA
status-withdrawn = RETIRADA
pending-activates = Se activa el { $when }
retiring-until = Aceptada hasta el { $when }
withdrawn-on = Retirada el { $when }
revoked-on = Revocada el { $when }
revoked-on-because = Revocada el { $when }: { $reason }
col-usage = Uso
usage-never = Nunca usada
usage-last-used = Último uso: { $ago }
usage-counts = { $accepted ->
        [one] 1 llamada aceptada
       *[other] { $accepted } llamadas aceptadas
    }, { $refused ->
        [one] 1 rechazada
       *[other] { $refused } rechazadas
    }
usage-last-refusal = Último rechazo: { $slug }, { $ago }
ago-seconds = { $n ->
        [0] ahora mismo
        [one] hace 1 segundo
       *[other] hace { $n } segundos
    }
ago-minutes = { $n ->
        [one] hace 1 minuto
       *[other] hace { $n } minutos
    }
ago-hours = { $n ->
        [one] hace 1 hora
       *[other] hace { $n } horas
    }
ago-days = { $n ->
        [one] hace 1 día
       *[other] hace { $n } días
    }

## Vista de la clave
key-title = Clave pública
back-to-page = Volver al Certificado de API
key-id = Id de la clave
key-fingerprint = Huella (SHA-256)
key-thumbprint = Huella JWK (RFC 7638)
key-algorithm = Algoritmo
key-bits = Tamaño (bits)
key-exponent = Exponente público
key-pem = Clave pública (PEM)
key-copy = Copiar
key-copied = Copiada
key-copy-hint = Seleccione el texto para copiarlo.

## Revocar
revoke-title = Revocar la clave pública
revoke-question = ¿Revocar la clave activa { $fingerprint }, emitida el { $issued }?
revoke-consequence = La revocación es inmediata y no se puede deshacer: sus llamadas a la API se rechazan hasta que suba una nueva clave pública, y una clave revocada no se puede volver a subir nunca.
revoke-reason = Motivo (opcional)
revoke-confirm = Sí, revocar la clave
revoke-cancel = Cancelar

## Sucesora
successor-heading = Clave sucesora
successor-hint = Prepare la clave pública de su próximo par de claves mientras la actual sigue activa. Se activa en el momento en que la clave actual caduque o se revoque, o cuando usted la active, y su validez cuenta desde entonces.
successor-submit = Preparar sucesora
successor-summary = Sucesora preparada { $fingerprint }: se activa el { $when }, salvo que la active antes.
successor-activate = Activar ahora
successor-withdraw = Retirar
activate-title = Activar la clave sucesora
activate-question = ¿Activar ahora la clave preparada { $fingerprint } en lugar de la clave activa { $active }?
activate-consequence = La clave actual se revoca de inmediato: las llamadas firmadas con ella se rechazan desde ahora. Asegúrese de que todos los servidores que firman llamadas tengan la nueva clave privada.
activate-consequence-overlap = La clave actual se sigue aceptando hasta el { $when } y después se revoca. Asegúrese de que para entonces todos los servidores que firman llamadas tengan la nueva clave privada.
activate-confirm = Sí, activarla ahora
activate-cancel = Cancelar

## Errores
error-title = Algo ha ido mal
err-csrf = Este formulario ha caducado o no procede de esta página. Vuelva atrás, recargue la página e inténtelo de nuevo.
err-login-missing = Introduzca la clave de API y la contraseña.
err-reason-invalid = El motivo puede tener como máximo 500 caracteres y ningún carácter de control.
err-invalid_request = No se ha podido entender la solicitud. Vuelva atrás e inténtelo de nuevo.
err-invalid_page = Se pidió una lista con un tamaño o una posición de página incorrectos. Vuelva atrás e inténtelo de nuevo.
err-payload_too_large = El archivo o el texto es demasiado grande. Una clave pública ocupa unos cientos de caracteres.
err-not_found = Esta página o clave no existe.
err-unauthorized = Su sesión ha terminado. Vuelva a iniciar sesión.
err-invalid_credentials = La clave de API o la contraseña no son correctas.
err-rate_limited = Demasiados intentos fallidos. Vuelva a intentarlo dentro de { $minutes } minutos.
err-login_busy = Ahora mismo se están comprobando muchos inicios de sesión. Vuelva a intentarlo en unos segundos.
err-internal_error = Se ha producido un error interno; ha quedado registrado. Inténtelo de nuevo más tarde.
err-service_unavailable = El servicio no puede acceder a su base de datos en este momento. No se ha cambiado nada; inténtelo de nuevo en unos segundos.
err-public_key_reused = Esta clave pública ya se registró antes. Una clave solo se puede registrar una vez: genere un nuevo par de claves y suba su clave pública.
err-active_key_exists = Esta clave de API ya tiene una clave pública activa. Revóquela primero, o espere a que caduque, y después suba la nueva.
err-no_active_key = Esta clave de API no tiene ninguna clave pública activa.
err-no_active_key-successor = Esta clave de API no tiene ninguna clave pública activa, así que no hay ninguna clave que una sucesora pueda sustituir: suba su nueva clave pública directamente con el formulario de subida.
err-successor_exists = Esta clave de API ya tiene una sucesora preparada. Retírela antes de preparar otra.
err-no_successor = Esta clave de API no tiene ninguna sucesora preparada.
err-private_key_submitted = Ha enviado una clave PRIVADA. No se ha guardado, pero a partir de ahora debe considerarse comprometida: genere un nuevo par de claves, mantenga en secreto la clave privada y suba solo la clave pública (openssl rsa -in private.pem -pubout).
err-public_key_malformed = Esto no es una clave pública PEM: { $reason }. Pegue la clave pública completa, desde -----BEGIN PUBLIC KEY----- hasta -----END PUBLIC KEY----- (por ejemplo, la salida de openssl rsa -in private.pem -pubout).
err-public_key_not_rsa = Esta es una clave { $kind }; solo se aceptan claves RSA. Genere una con openssl genrsa -out private.pem 2048 y suba su clave pública.
err-public_key_wrong_size = Esta clave RSA tiene { $found } bits; el tamaño permitido es { $allowed } bits. Genere una clave de un tamaño permitido (por ejemplo, openssl genrsa -out private.pem { $example }).
err-public_key_weak = Esta clave RSA es débil: { $reason }. Genere un nuevo par de claves con openssl genrsa -out private.pem 2048 y suba su clave pública.
malformed-empty = el texto está vacío
malformed-no-pem-block = no se ha encontrado ningún bloque PEM (-----BEGIN PUBLIC KEY-----)
malformed-several-blocks = se ha encontrado más de un bloque PEM
malformed-trailing-data = hay texto antes de la línea BEGIN o después de la línea END
malformed-bad-envelope = falta la línea END o no coincide con la línea BEGIN
malformed-headers = el bloque PEM contiene cabeceras
malformed-bad-base64 = el base64 del bloque PEM no es válido
malformed-unknown-label = la etiqueta PEM no es PUBLIC KEY, RSA PUBLIC KEY ni CERTIFICATE
malformed-bad-der = no se pueden interpretar los datos de la clave del bloque PEM
weak-exponent = el exponente público es { $value }; solo se acepta 65537
weak-exponent-too-large = el exponente público es demasiado grande; solo se acepta 65537
weak-even-modulus = el módulo es par, así que la clave está dañada
weak-small-factor = el módulo tiene el factor primo pequeño { $value }, así que la clave está dañada

## Autocomprobación (/self-check, /self-check/encryption)
selfcheck-heading = Autocomprobación
selfcheck-hint = Compruebe su integración antes de pasar a producción: revise una petición firmada por su programa y compruebe que su clave privada lee lo que keygate cifra.
selfcheck-signature-link = Comprobar una petición firmada
selfcheck-encryption-link = Comprobar el descifrado
selfcheck-title = Comprobar una petición firmada
selfcheck-intro = Pegue las partes de una llamada protegida tal como la envía su programa. keygate le aplica las comprobaciones de la pasarela, como la juzgaría ahora, y dice en cada una qué esperaba y qué encontró. No se envía nada a ningún sitio y el jti no se registra. Para comprobar una llamada exactamente como la envía su programa, use POST /clients/api_key/public_key/check o keygate client check.
selfcheck-request-heading = La petición
selfcheck-method = Método
selfcheck-path = Ruta y consulta
selfcheck-path-hint = Tal como la envía su programa, empezando por /, por ejemplo /cards/42?expand=pin.
selfcheck-body = Cuerpo
selfcheck-body-hint = Los bytes exactos que envía su programa; vacío si no hay.
selfcheck-newlines = Saltos de línea del cuerpo
selfcheck-newlines-lf = LF (\n), como envían JSON la mayoría de los programas
selfcheck-newlines-crlf = CRLF (\r\n)
selfcheck-signature-hint = El JWS compacto que su programa hizo para este método, ruta y cuerpo.
selfcheck-token = Token de acceso (opcional)
selfcheck-token-hint = Solo hace falta para comprobar un ath firmado. Se compara y se olvida: nunca se guarda, se registra ni se vuelve a mostrar.
selfcheck-submit = Ejecutar las comprobaciones
selfcheck-results = Resultados
selfcheck-all-ok = Todas las comprobaciones se superaron: la pasarela aceptaría ahora esta petición.
selfcheck-some-failed = Algunas comprobaciones fallaron: la pasarela rechazaría esta petición. El primer fallo es el rechazo que respondería.
selfcheck-col-check = Comprobación
selfcheck-col-result = Resultado
selfcheck-col-detail = Qué se esperaba y qué se encontró
selfcheck-passed = superada
selfcheck-failed = fallida
selfcheck-bad-method = Elija uno de los métodos ofrecidos.
selfcheck-bad-path = La ruta debe empezar por / y contener solo caracteres ASCII visibles (codifique el resto con %), como mucho 2048.
selfcheck-bad-token = No es un token de acceso vigente de la clave de API con la que ha iniciado sesión. Deje el campo vacío para comprobar sin él.
selfcheck-body-too-large = El formulario supera los { $bytes } bytes, lo máximo que puede llevar una petición: un cuerpo tan grande tampoco puede firmarse para la pasarela.
selfcheck-encryption-title = Comprobar el descifrado
selfcheck-encryption-intro = keygate cifró un texto aleatorio para su clave activa { $kid } en cada esquema que usa para los campos confidenciales. Descifre cualquiera de ellos con su clave privada e introduzca el texto: si es correcto, su programa puede leer los números de tarjeta y los PIN que recibe. El reto puede responderse una vez, hasta el { $when }.
selfcheck-challenge-heading = El reto
selfcheck-scheme-jwe = jwe: JWE compacto (RSA-OAEP-256, A256GCM), para su biblioteca JOSE
selfcheck-scheme-oaep = rsa-oaep-256: RSA-OAEP con SHA-256, base64
selfcheck-scheme-pkcs1 = rsa-pkcs1: RSA PKCS#1 v1.5, base64
selfcheck-openssl = Con openssl, siendo private.pem su clave privada:
selfcheck-answer = El texto descifrado
selfcheck-answer-submit = Comprobar el texto
selfcheck-answer-ok = Correcto: su clave privada lee lo que keygate cifra para su clave activa.
selfcheck-answer-wrong = Ese no es el texto cifrado. ¿Es la clave privada la de su clave activa? Este reto ya se ha usado; empiece uno nuevo.
selfcheck-new-challenge = Nuevo reto
err-challenge_unknown = No existe ese reto para esta clave de API. Empiece uno nuevo.
err-challenge_used = Este reto ya se respondió. Empiece uno nuevo.
err-challenge_expired = Este reto ha caducado: puede responderse durante cinco minutos. Empiece uno nuevo.
