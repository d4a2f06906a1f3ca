"""Which intent an utterance carries, by ordered phrase patterns.

Order is the precedence debtors' answers need: an opt-out outranks everything
("no, no me llamen más"), a claim of payment or a dispute outranks a bare "no"
("no, ya pagué", "no es mía"), a third party outranks a callback ("no está,
llame más tarde"), and a plain "sí"/"no" only counts when nothing more specific
was said ("sí, le pago el viernes" is a promise). Patterns are written against
normalized text (lowercase, no accents, numbers kept), so ASR output and typed
text meet the same rules.

Layers, each weaker than the one before (the confidence says which one spoke):
phrase patterns (0.8–0.95); a pay verb no nearby negation undoes (promise);
a bare amount, day or clock time answering the bot's question (0.6); a telling
keyword in a longer answer (0.5); then a plain yes/no, else unknown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from voicebot.dialog.understanding import Intent


def _words(*alternatives: str) -> re.Pattern[str]:
    return re.compile("|".join(rf"\b(?:{a})\b" for a in alternatives))


_KIN = (
    r"esposa|esposo|mujer|marido|senora|hijo|hija|mama|mami|madre|papa|papi|padre|hermano"
    r"|hermana|tio|tia|sobrino|sobrina|primo|prima|abuelo|abuela|nieto|nieta|suegra|suegro"
    r"|cunado|cunada|novia|novio|pareja|companera|companero|yerno|nuera|empleada|vecina|vecino"
    r"|secretaria|jefe|amiga|amigo|muchacha|nana"
)
_PAY_VERB = (
    r"pago|pagamos|pagaria|pagare|pagar|pagarle|pagarles|pagarlo|pagarla|consigno|consignar"
    r"|consignaria|consignare|consignarle|deposito|depositar|depositaria|depositare|depositarle"
    r"|transfiero|transferir|transferirle|abono|abonar|abonarle|cancelo|cancelar|cancelarle"
    r"|liquido|liquidar"
)
# Verbs that only mean paying with a recipient: "le doy", "le giro", "te paso".
_GIVE_VERB = (
    r"(?:le|les|te|se lo|se la) (?:doy|dar|daria|dare|giro|girar|mando|mandar|envio|enviar|paso)"
    r"|(?:puedo|podria|alcanzo a|voy a|alcanzaria a|podemos) (?:dar|darle|darles)"
)
_PAY_ACT = r"(?:la |el |una |un )?(?:pago|transferencia|consignacion|deposito|abono|giro)"

STOP_CALLING = _words(
    r"stop calling|don ?t call|do not call|dont call",
    r"dej\w* de (?:estar )?(?:llamando|molestando|marcando|llamar|molestar|marcar)",
    r"(?:dar|darme|den|denme|quiero darme) de baja|no (?:quiero|queremos|deseo) recibir (?:mas "
    r"|estas |sus |esas )?llamadas",
    r"no (?:me |nos )?(?:jodan|joda|jodas|frieguen|friegue|fastidien|fastidie|chinguen|hinchen)",
    r"no me (?:esten|sigan|anden|estan) (?:llamando|molestando|marcando)",
    r"(?:cada rato|todos los dias|a toda hora|a cada rato|siempre|a cada ratito) me (?:llaman"
    r"|estan llamando|marcan)|me llaman (?:a cada rato|todos los dias|a toda hora|demasiado)",
    r"(?:borren|borre|borrar|eliminen|elimine|quiten|quite) (?:mis|todos mis) datos",
    r"no (?:me |nos )?(?:vuelva|vuelvan|vuelvas) a (?:llamar|marcar|molestar|contactar)",
    r"no (?:me |nos )?(?:llame|llamen|llames|marque|marquen|molesten|moleste|contacten|busquen)"
    r"(?! (?:ahora|ahorita|en este momento|a esta hora|hoy))",
    r"no (?:quiero|queremos) (?:que me (?:llamen|vuelvan|sigan|molesten|contacten)|(?:recibir )?"
    r"(?:mas )?llamadas|que (?:sigan|vuelvan) (?:llamando|a llamar))",
    r"(?:dejen|deje|dejes|deja) de (?:llamar(?:me)?|molestar(?:me)?|marcar(?:me)?|fregar|joder"
    r"|acosar(?:me)?|insistir)",
    r"(?:borren|borre|borrar|saquen|saque|sacar|quiten|quite|quitar|eliminen|elimine|eliminar"
    r"|retiren|retire)(?:me|nos)? (?:de|mi numero de|este numero de) (?:la|su|sus|esa|esta) "
    r"(?:lista|base|listas|bases|registro|registros|sistema|directorio)",
    r"(?:borren|saquen|quiten|eliminen)(?:me)? (?:mi numero|este numero)",
    r"no (?:me )?llamen (?:nunca )?mas|ya no (?:me )?llamen|nunca mas (?:me )?llamen",
    r"no (?:quiero|deseo) (?:que me )?(?:vuelvan|sigan) (?:a )?(?:llamar|llamando)",
    r"voy a (?:denunciar|demandar)(?:los)?|es acoso|no me interesa que me llamen",
)

ALREADY_PAID = _words(
    r"ya (?:mi |su |el |la )?\w+ (?:le |les |te |lo |la )?(?:pago|cancelo|deposito|consigno|transfirio|abono)$",
    r"(?:mi|su) (?:"
    + _KIN
    + r") (?:ya )?(?:le |les |te |lo |la )?(?:pago|cancelo|consigno|deposito|transfirio)(?! (?:manana|el|la|hoy|pasado|este|esta|en))",
    r"ya (?:hice|mande|envie) (?:el |mi )?payment|already paid|i paid|ya (?:pague|pagamos) online",
    r"(?:eso |ya |esa deuda |la deuda )?se (?:pago|cancelo|saldo|abono|liquido)(?! (?:manana|el|la|hoy|pasado|este|esta|cuando))",
    r"ya (?:le |les |te |lo |la )?(?:pagamos|abonamos|cancelamos|consignamos|depositamos"
    r"|transferimos|saldamos)",
    r"(?:el pago|la transferencia|la consignacion|el deposito) ya se (?:hizo|realizo|efectuo)"
    r"|ya se (?:hizo|realizo|efectuo) (?:el pago|la transferencia|la consignacion|el deposito)",
    r"(?:ya )?(?:lo |la )?(?:habia|habiamos) (?:pagado|cancelado|saldado|liquidado)",
    r"ya (?:le |les |te )?(?:mande|envie|gire|deposite|transferi|di) (?:la |el |su )?(?:plata"
    r"|dinero|pago|lana|platica|cuota|abono)",
    r"ya (?:esta|quedo|quedaron|estan) (?:todo |toda |todos )?(?:pagad[oa]s?|cancelad[oa]s?"
    r"|saldad[oa]s?)",
    r"(?:ya )?(?:me puse|nos pusimos|me pongo) al dia",
    r"^(?:pero )?(?:yo )?(?:ya )?(?:le |les |te |lo |la )?(?:pague|cancele|consigne|deposite"
    r"|transferi"
    r"|abone|salde|liquide)",
    r"ya (?:le |lo |la |les )?(?:pague|cancele|deposite|consigne|transferi|abone|salde|liquide"
    r"|gire)",
    r"(?:lo|la|los|las|eso|yo|ya) (?:le |les |te )?(?:pague|cancele|salde|liquide)",
    r"(?<!que )(?<!cuando )(?<!si )(?<!apenas )(?:pague|salde|liquide|consigne|deposite|transferi)"
    r" (?:ayer|antier|anteayer|el (?:lunes|martes|miercoles|jueves|viernes|sabado|domingo) pasado"
    r"|la semana pasada|el mes pasado|hace|todo|la deuda|esa deuda|eso)",
    r"ya (?:hice|realice|mande|envie|hicimos|efectue) " + _PAY_ACT,
    r"(?:hice|realice|efectue) " + _PAY_ACT + r" (?:ayer|hace|la semana pasada|el mes pasado)",
    r"(?:ayer|antier|anteayer|la semana pasada|el mes pasado|hace \w+ (?:dias|semanas|meses)"
    r"|el (?:lunes|martes|miercoles|jueves|viernes|sabado|domingo)(?: pasado)?) (?:le |les |ya )?"
    r"(?:hice|realice|efectue|mande|envie) " + _PAY_ACT,
    r"ya (?:esta|estan|quedo|quedaron|se encuentra) (?:todo |toda )?(?:pagad[oa]s?|pag[oa]|cancelad[oa]s?"
    r"|saldad[oa]s?|liquidad[oa]s?|al dia|paz y salvo)",
    r"(?:estoy|quede|estamos) (?:al dia|a paz y salvo|en paz y salvo)",
    r"ya no (?:debo|le debo|les debo|tengo deuda)|ya (?:la|lo) (?:tengo )?(?:pagad|cancelad)[oa]",
    r"tengo (?:el|la) (?:comprobante|recibo|soporte|constancia|voucher)",
    r"ya (?:le |les |lo |la )?pago(?! (?:manana|el|la|en|hoy|ahorita|pasado|este|esta))(?= |$)",
    r"ya (?:fue|esta) (?:pagad|cancelad)[oa]|eso ya se pago|ya se (?:pago|cancelo)",
    r"ya (?:le |les |te )?(?:hice|mande) (?:la |el )?(?:consignacion|transferencia|deposito|pago)",
    # "el lunes de la semana pasada pagué": the verb last.
    r"(?<!que )(?<!cuando )(?<!si )(?:pague|cancele|consigne|deposite|transferi|abone)$",
)

DISPUTE = _words(
    r"(?:monto|valor|saldo|cobro|cifra) (?:\w+ ){0,4}no (?:es|esta) (?:correcto|correcta|real|ese|asi|bien)",
    r"scam|not mine|not my (?:debt|account|card|loan)|i don ?t owe|ni madres que debo|que voy a deber|no es de nosotros",
    r"(?:deuda|cuenta|credito|tarjeta|prestamo) es de (?:mi|otra|otro|un|una|el|la)\b",
    r"no (?:cuadra|coincide|concuerda|cuadran|coinciden)",
    r"no (?:me|nos) pertenece|no es de mi propiedad",
    r"(?:la|lo|esa|esta) (?:cuenta |tarjeta )?(?:la |lo )?cerre|cerre (?:esa|la|mi|esta) (?:cuenta"
    r"|tarjeta|linea|credito)",
    r"(?:yo )?no (?:lo |la |los |las )?(?:compre|saque|pedi|solicite|firme|autorice|contrate"
    r"|adquiri)\b",
    r"no es (?:mi|nuestra) (?:deuda|cuenta|tarjeta|credito|prestamo|obligacion)",
    r"(?:monto|valor|saldo|cobro) no es (?:ese|asi|correcto|real)|no es ese (?:el )?(?:monto|valor"
    r"|saldo)",
    r"(?:yo )?no (?:lo |la )(?:saque|pedi|solicite|firme|tuve|use|contrate|compre)",
    r"reclame|(?:puse|hice|meti) (?:la |una )?(?:queja|denuncia) (?:a|en|ante)",
    r"no (?:es|son) (?:mia|mio|mias|mios|de nosotros)",
    r"(?:esa|esta|la|eso|ese) (?:deuda|cuenta|credito|prestamo|cobro|monto|saldo|valor)? ?"
    r"no (?:es|son) (?:mia|mio|mias|mios)",
    r"(?:yo )?no (?:le |les |te )?(?:debo|debemos) (?:eso|nada|ese|esa|esos|ningun|ninguna|un)",
    r"^(?:yo )?no (?:le |les |te )?debo$|yo no debo|no tengo (?:ninguna |esa |ese )?(?:deuda"
    r"|credito"
    r"|prestamo|cuenta) (?:con|en)|no tengo (?:ningun|ninguna) (?:deuda|credito|prestamo|cuenta"
    r"|tarjeta|obligacion)",
    r"no (?:reconozco|conozco) (?:esa|ese|esta|la|el|ningun|ninguna) (?:deuda|cuenta|credito"
    r"|prestamo|cobro|tarjeta|obligacion|monto|compra)",
    r"nunca (?:saque|pedi|tuve|solicite|firme|use|he tenido|abri|compre)",
    r"no (?:saque|pedi|solicite|firme|abri) (?:ningun|ninguna|ese|esa|nada|un|una)",
    r"(?:monto|valor|saldo|cobro|cifra|cantidad|cuenta|interes|intereses|la deuda|eso) (?:esta"
    r"|estan"
    r"|es|son) (?:mal|malo|equivocad[oa]s?|incorrect[oa]s?|errad[oa]s?|inflad[oa]s?"
    r"|exagerad[oa]s?)",
    r"(?:esta|estan) (?:mal|equivocad[oa]s?|errad[oa]s?) (?:el|la|los|las) (?:monto|valor|saldo"
    r"|cobro|cuenta|cifra|intereses)",
    r"(?:ya|yo) (?:reclame|hice (?:un|el|una) (?:reclamo|queja|denuncia))|tengo (?:un|una) "
    r"(?:reclamo|queja|denuncia|disputa)",
    r"cobro (?:indebido|injusto|equivocado)|(?:es|fue|son) (?:indebid|injust)[oa]s?|(?:es|fue"
    r"|es un|fue un) (?:fraude|robo|estafa|error)",
    r"(?:suplantacion|robo) de identidad|me (?:robaron|clonaron|suplantaron)",
    r"no (?:la|lo|los|las) reconozco|(?:valor|monto|saldo|cobro|cifra|cantidad|cuenta) no (?:es"
    r"|esta)"
    r" (?:correct[oa]|bien)|(?:puse|meti|presente|hice|tengo|abri|radique|interpuse|pusimos) "
    r"(?:un|una|el|la) (?:reclamo|queja|denuncia|reclamacion|disputa)",
    r"nunca (?:la |lo |los |las )?(?:use|saque|pedi|firme|tuve|solicite|active|recibi)",
    r"cobr\w* (?:\w+ )?(?:de mas|demas|mal|algo que no|lo que no|doble|que no (?:son|debo"
    r"|corresponden?|es))|algo que no debo|que no debo",
    r"no (?:he |hemos )?(?:saque|sacado|pedido|solicitado|firmado|tenido|abierto|pedi) (?:nada"
    r"|ningun"
    r"|ninguna)|no es lo que (?:debo|le debo)|(?:valor|monto|saldo|cobro|cuota|cifra) (?:esta|es)"
    r" (?:muy )?(?:alto|elevado|exagerado)",
    r"(?:peleando|reclamando|disputando|en disputa|en litigio|en reclamo|en demanda|con (?:un|mi)"
    r" abogado)",
    r"no (?:me |nos )?corresponde|no es correcto el (?:monto|valor|cobro)|no debo tanto|debo menos",
    r"eso no (?:lo )?debo|no les debo nada|no le debo nada|de donde sacan",
    r"no es mi (?:firma|letra|cedula|documento)|(?:falsificaron|falsificada) (?:mi )?firma",
    r"nunca (?:fue|ha sido|han sido|fueron) (?:mia|mio|mias|mios|nuestra|nuestro)"
    r"|(?:deuda|cuenta|tarjeta|credito) no (?:fue|era) (?:mia|mio)",
)

WRONG_NUMBER = _words(
    r"wrong (?:number|person)",
    r"(?:numero|telefono|celular) lo tengo (?:yo )?(?:desde|hace)",
    r"no (?:se|sabemos) quien (?:sea|es)",
    r"(?:aqui|aca) es (?:la )?casa de|(?:a|que) (?:que )?numero (?:llamo|marco|llama"
    r"|esta llamando)",
    r"casa de familia|(?:aqui|aca) no hay (?:ninguna |esa )?(?:empresa|oficina|negocio)",
    r"(?:numero|telefono|celular) es de (?:una|un|la|el) (?:tienda|empresa|oficina|negocio|local"
    r"|colegio|restaurante|hospital|almacen|familia|fabrica|taller)",
    r"(?:aqui|aca) no es\b|no es (?:la casa|su casa|la oficina) de",
    r"(?:lo|la) compre (?:usad|nuev)[oa]|(?:celular|numero|telefono|linea|chip) (?:nuevo|usado"
    r"|prepago nuevo)|me (?:dieron|asignaron|vendieron) (?:este|ese) (?:numero|celular|chip)",
    r"numero equivocado|equivocad[oa] de numero|se (?:equivoco|equivocaron|equivoca) de "
    r"(?:numero|persona)",
    r"(?:esta|estan|esta usted|se) (?:equivocad[oa]s?|equivoco|equivocaron|equivoca)$",
    r"(?:esta|estan|esta usted) equivocad[oa]s?(?! (?:el|la|los) (?:monto|valor|saldo|cobro))",
    r"no (?:lo |la |los )?(?:conozco|conocemos) (?:a )?(?:ese|esa|esta|este|al|a la|a nadie"
    r"|ningun|ninguna|la persona|el senor|la senora|quien)",
    r"no (?:lo|la) (?:conozco|conocemos)$|no (?:se|sabemos) quien es",
    r"(?:aqui|aca|ahi) no (?:vive|hay|trabaja|conocemos|existe)",
    r"no (?:vive|viven|hay nadie|existe nadie|trabaja) (?:aqui|aca|ahi|en esta casa)",
    r"no hay nadie (?:que se llame|con ese nombre|asi)|nadie (?:se llama|con ese nombre)",
    r"no (?:es|era) (?:aqui|aca|este (?:el )?numero|el numero|mi numero)",
    r"(?:ese|este) (?:numero|telefono|celular) (?:es|era|ya es|lo tengo|me lo) "
    r"(?:mio|nuevo|de otra persona|hace poco|asignaron|dieron|compre)",
    r"(?:este|ese) numero (?:ya )?no (?:es|pertenece)|cambi(?:e|o|aron) de numero",
    r"no me llamo asi|no es mi nombre|no soy (?:esa persona|ese senor"
    r"|esa senora|quien busca|la persona que busca)",
    r"(?:te |se )?equivocaste|te equivocas|(?:ni idea|no tengo idea|no se) (?:de )?quien es",
    r"marco mal|marcaron mal|se equivocaron|numero incorrecto|persona equivocada"
    r"|^(?:esta )?equivocad[oa]s?",
    r"(?:numero|telefono|celular) ya no es (?:de|del)|no se de quien (?:me )?(?:habla|hablan|esta"
    r" hablando)|no (?:conozco|conocemos) a nadie (?:asi|con ese nombre)",
)

AGENT_REQUEST = _words(
    r"representative|customer service|(?:a|real) (?:person|human)|an agent|operator",
    r"alguien con quien (?:pueda|puedo|podria) hablar|servicio al cliente|atencion al cliente",
    r"(?:quiero|necesito|deseo|prefiero|pido) (?:a )?(?:una|un) (?:persona|humano|asesora?|agente"
    r"|operadora?|ejecutiv[oa])",
    r"(?:comunique|comunica|pase|pasa|transfiera|conecte)(?:me)? con (?:alguien|una persona"
    r"|un asesor|una asesora|un humano)",
    r"^(?:con )?(?:el|la|un|una|alguna|algun) (?:encargad[oa]|supervisora?|gerente|jefe|jefa"
    r"|asesora?|operadora?|ejecutiv[oa]|agente|persona|humano)",
    r"(?:atienda|atiende|conteste|ayude) (?:una|un|alguna|algun|el|la) (?:persona|asesora?|humano"
    r"|agente|operadora?|ejecutiv[oa])|(?:atienda|atiende|conteste) alguien",
    r"(?:persona|alguien|humano) (?:de verdad|real|de carne y hueso)",
    r"(?:hablar|hable|comunicarme|comunicar|conversar|tratar) con (?:un|una|el|la|alguna|algun|"
    r"alguien|su|sus)?\s?(?:persona|humano|ser humano|asesor|asesora|agente|operador|operadora"
    r"|ejecutivo|ejecutiva|supervisor|supervisora|encargado|encargada|gerente|representante"
    r"|funcionario|funcionaria|alguien|jefe|gestor|gestora|alguien real|persona real)",
    r"(?:paseme|pasame|pasenme|comuniqueme|comunicame|transfierame|transfiereme|conecteme"
    r"|comuniquenme|pongame|ponme|me pasa|me comunica|me transfiere|me puede pasar|me puede "
    r"comunicar) (?:con|a)",
    r"(?:un|una|el|la) (?:asesor|asesora|agente|operador|operadora|ejecutivo|ejecutiva|humano"
    r"|persona real|ser humano|representante)",
    r"no (?:quiero )?hablar con (?:una |un )?(?:maquina|robot|grabacion|contestadora)"
    r"|(?:es|eres|hablo con) (?:una |un )?(?:maquina|robot|grabacion|contestadora)",
    r"(?:asesor|asesora|operadora|operador|agente|humano)$|^(?:con )?(?:un|una|alguna) (?:persona"
    r"|humano|asesor|asesora|agente|operador|operadora|ejecutivo|ejecutiva)",
)

PAYMENT_PLAN = _words(
    r"hacer abonos|abonitos|por abonos|con abonos",
    r"payment plan|installments?|monthly payments",
    r"en (?:\w+ )?(?:partes|cuotas|pagos|abonos|mensualidades|contados)",
    r"(?:divid|divido|divida|partir|parto|parta)\w* (?:\w+ )?en",
    r"no (?:puedo|alcanzo|podria) (?:con )?(?:pagar(?:lo)? )?(?:todo|toda la deuda"
    r"|el total)(?: de una(?: vez)?| junto)?$",
    r"mensualidades|parcialidades|cuotas mensuales|pagos parciales",
    r"(?:un|algun|hacer un|tienen|hay) plan",
    r"(?:en|a|por|de a) cuotas|(?:cuotas|cuotitas)|en partes|por partes|a plazos|en plazos"
    r"|(?:un|una|el|hacer|llegar a|tener un|sacar un|firmar un) (?:acuerdo|arreglo|convenio"
    r"|negociacion)|acuerdos? de pagos?|plan(?:es)? de pagos?|convenios? de pagos?",
    r"financiar|financiacion|financiamiento|refinanciar|refinanciacion|reestructurar"
    r"|reestructuracion|diferir|diferido|prorroga|facilidades? de pago|negociar|arreglo de pago",
    r"de a (?:poco|poquito|poquitos)|poco a poco|(?:en|a) (?:abonos|mensualidades|pagos)"
    r"|(?:pagar|pago|pagaria|abonar|abono|dar|doy|cancelo|cancelar) (?:la mitad|una parte|parte)"
    r"|(?:pagos|abonos) (?:mensuales|parciales|quincenales)",
    r"(?:descuento|rebaja|condonacion|quita|plazo|mas tiempo)|(?:pagar|abonar|pago|abono|pagando"
    r"|abonando|pagarle|abonarle) (?:menos|por mes|mensual|mensualmente|cada mes|quincenal"
    r"|semanal)",
)

CANNOT_PAY = _words(
    r"no (?:tengo|hay) (?:el |la )?(?:money|income|job|cash|dinero|plata|lana)|no money|can ?t pay|cannot pay|no (?:traigo|cargo|ando con) (?:lana|dinero|plata|feria|nada|un peso|efectivo)",
    r"mal momento economico|situacion economica|problemas economicos|crisis economica|(?:tengo"
    r"|tenemos) (?:muchas|demasiadas|otras) deudas",
    r"no me (?:han pagado|pagan|pagaron)(?! (?:a tiempo))",
    r"no (?:tengo|tenemos|hay|cuento con) (?:ni )?(?:un|una) (?:peso|sol|mango|centavo|quinto|varo"
    r"|billete|luca|dolar|cinco)",
    r"no (?:tengo|tenemos|hay) (?:ni )?(?:varo|guita|camello|chamba|pega|laburo|lana|feria|pisto"
    r"|plata|billete)",
    r"sin (?:camello|varo|guita|mango|feria|pisto)",
    r"no tengo (?:como|con que)(?: pagar(?:le|les)?)?$|no tengo para (?:pagar|pagarle|pagarles"
    r"|eso)",
    r"no (?:me|nos) (?:queda|quedo|sobra) (?:plata|dinero|nada|un peso)",
    r"no (?:tengo|tenemos|hay|cuento con|dispongo de) (?:la |el |nada de |ni )?(?:plata|dinero|lana"
    r"|feria|billete|pisto|plata|recursos|como pagar|con que pagar|con que|trabajo|empleo|chamba"
    r"|pega|laburo|un peso|un peso partido|un centavo|un sol|ingresos|los medios|fondos|liquidez"
    r"|un quinto|varo|guita|mango|moneda)",
    r"no (?:le |les |te )?(?:puedo|podemos|podre|podria|voy a poder|alcanzo a|tengo como) (?:pagar|"
    r"cancelar|abonar|consignar|depositar|dar nada|pagarle|pagarles)",
    r"sin (?:plata|dinero|trabajo|empleo|chamba|pega|laburo|chamba|un peso|ingresos|lana|un centavo"
    r"|un sol|un mango|guita|billete|recursos|chambear)",
    r"desemplead[oa]|cesante|(?:me|nos) (?:echaron|despidieron|botaron|corrieron|liquidaron)"
    r"|(?:perdi|perdio) (?:el|mi|su) (?:trabajo|empleo|chamba|pega)",
    r"(?:estoy|ando|estamos|andamos|me encuentro|quede|me quede) (?:muy |bien |super )?(?:corto"
    r"|corta"
    r"|cortos|quebrad[oa]s?|pelad[oa]s?|limpi[oa]|en la quiebra|sin un peso|mal de plata|mal de"
    r" dinero|apretad[oa]s?|en la ruina|arruinad[oa]|sin chamba|sin trabajo|sin plata|en crisis"
    r"|sin nada|mal economicamente|sin liquidez|endeudad[oa])",
    r"no (?:me|nos) alcanza|no (?:me )?da (?:la plata|el dinero)|no hay (?:plata|dinero|trabajo)",
    r"no (?:voy|vamos|pienso|pensamos|quiero) (?:a )?(?:pagar|pagarles|pagarle|cancelar)",
    r"^no (?:voy a |vamos a )?(?:poder|puedo)$|(?:imposible|no es posible) pagar"
    r"|no estoy (?:trabajando|en condiciones)|no trabajo",
    r"(?:estoy|ando) (?:enferm[oa]|incapacitad[oa]|hospitalizad[oa])|la situacion esta"
    r" (?:dificil|mala|complicada|dura)|no tengo con que",
    r"no (?:tengo|me alcanza|me queda) ni para (?:comer|el pasaje|la comida|el arriendo|la renta"
    r"|el mercado)",
    r"con que (?:le |les |te )?(?:pago|voy a pagar|pagaria|pagar)|si no tengo(?: nada| plata"
    r"| dinero"
    r"| trabajo)?$",
)

CALLBACK = _words(
    r"call (?:me )?(?:later|back|tomorrow|tonight)|(?:estoy|ando) (?:driving|busy|at work|working)|(?:me )?(?:marcas|llamas|hablas) (?:al rato|mas rato|luego|despues)",
    r"(?:estoy|ando|voy) (?:en|a) (?:una |la )?(?:junta|reunion|cita|clase|consulta|llamada|entrevista|capacitacion)",
    r"(?:agarro|agarra|agarraste|cogio|encuentra|pillo|pillaste) en (?:mal|un mal) momento"
    r"|mal momento$",
    r"(?:podemos|podriamos|puedo|podria) hablar (?:manana|luego|despues|mas tarde|otro dia|en otro"
    r"|el|en la)",
    r"tengo (?:visita|visitas|gente en la casa)|estoy con (?:visita|visitas|gente)",
    r"(?:manana|luego|despues|mas tarde|otro dia|en la tarde|en la noche|en la manana) me (?:llama"
    r"|llaman|marca|marcan|vuelve a llamar)",
    r"me (?:llama|llaman|marca|marcan|vuelve a llamar|vuelven a llamar)$",
    r"(?:llame|llamen|llamame|llameme|llamenme|llamarme|marqueme|marcame|marquenme|comuniquese"
    r"|comuniquense|vuelva a llamar|vuelvan a llamar|vuelve a llamar|llamar|llamarnos"
    r"|me llama|me llaman|me marca|me marcan|me vuelve a llamar|me vuelven a llamar) "
    r"(?:mas tarde|luego|despues|despuesito|mas rato|manana|pasado|otro dia|en otro|en|el|la|a las"
    r"|a la|por la|esta|este|hoy|dentro|tipo|como a|de nuevo|otra vez|cuando|ahorita|temprano)",
    r"llameme|llamame|llamenme|marqueme|marcame|vuelva a llamar|vuelvan a llamar|me vuelve a llamar"
    r"|(?:puede|pueden|podria|podrian) (?:volver a )?(?:llamar|marcar)(?:me)?",
    r"(?:ahora|ahorita|en este momento|ya) no (?:puedo|le puedo|te puedo) (?:hablar|atender"
    r"|contestar|atenderle|atenderlo|atenderla)?",
    r"no (?:puedo|le puedo|te puedo) (?:hablar|atender|contestar|atenderle|atenderlo|atenderla)",
    r"(?:estoy|ando|voy) (?:manejando|conduciendo|ocupad[oa]|trabajando|en el trabajo"
    r"|en una reunion"
    r"|en reunion|en clase|en la calle|en el bus|atendiendo|en el medico|en el hospital|en misa"
    r"|en camino|saliendo|entrando|almorzando|comiendo|en la oficina|de viaje|en el carro|cocinando"
    r"|banandome|duchandome|en la ducha|en el bano|en una cita|en otra llamada|en una llamada"
    r"|con un cliente|con clientes|en el banco|en el supermercado|en misa|en el culto|en consulta)",
    r"manejando|conduciendo",
    r"(?:le|les|te) (?:confirmo|devuelvo la llamada|aviso si|doy razon)|lo (?:pienso|consulto)"
    r" y (?:le|les|te)",
    r"(?:hablemos|conversemos|hablamos) (?:mas tarde|luego|despues|manana|otro dia|el|la|en)",
    r"(?:mas tarde|en otro momento|otro dia|otro rato|mas rato)(?: (?:hablamos|por favor|mejor))?$",
    r"no es (?:buen|un buen) momento|no tengo tiempo|ahorita no|ahora no|(?:hoy|ahora|ahorita)"
    r" no puedo$",
)

THIRD_PARTY = _words(
    r"(?:esta|vive|anda) (?:en el exterior|en el extranjero|fuera del pais|afuera del pais|en otro pais|en estados unidos|en espana|en usa)",
    r"(?:esta|anda|se fue) de (?:vacaciones|viaje|paseo|turno|compras)",
    r"(?:el|ella) no tiene (?:celular|telefono)|se fue del pais|se fue a vivir|vive en (?:otra"
    r"|otro) (?:ciudad|pais|lado)",
    r"(?:el|ella) (?:trabaja|llega|regresa|vuelve|viene|sale) (?:hasta|en|a las|mas tarde|tarde"
    r"|despues|el|la|temprano|de noche|los)",
    r"no (?:esta|se encuentra|ha llegado|llega|vino|viene|anda|esta en casa)(?! (?:bien|mal|claro"
    r"|correcto|pagad|de acuerdo|segur|equivocad|incorrect))",
    r"(?:salio|se fue|esta trabajando|esta de viaje|esta en el trabajo|esta durmiendo|esta"
    r" hospitalizad[oa]|esta afuera|esta fuera|esta ocupad[oa]|se encuentra fuera|viajo|anda"
    r" trabajando|esta en la calle|esta banandose|se esta banando|no ha vuelto|murio|fallecio"
    r"|falleci[oa]|esta muert[oa]|esta enferm[oa])",
    r"(?:anda|esta) (?:en el trabajo|trabajando|de viaje|en la calle|afuera|fuera|por fuera"
    r"|en la finca|en el campo|de turno)",
    r"esta en (?:el|la) (?:hospital|clinica|trabajo|oficina|calle|universidad|colegio|escuela"
    r"|iglesia|medico|doctor|finca|campo)",
    r"(?:yo )?(?:le|les|te) (?:dejo|doy|paso) (?:el |la |su )?(?:recado|mensaje|razon)",
    r"(?:yo )?(?:le|les|te) (?:digo|aviso|comento)(?: que|$)",
    r"(?:dejele|dejeme|le dejo|quiere dejar(?:le)?|dejar) (?:el |un )?(?:recado|mensaje|razon)",
    r"(?:yo le|le) (?:digo|aviso)|tome (?:el )?(?:recado|mensaje)",
)

# Someone saying who they are to the debtor ("soy la esposa", "es mi hija").
KIN = _words(
    r"(?:soy|habla|le habla|es|somos|habla con) (?:la|el|su|una|un|mi|sus|los|las) (?:"
    + _KIN
    + r")s?",
    r"(?:mi|su) (?:" + _KIN + r")s? (?:ya )?no (?:vive|esta|se encuentra|trabaja|viene)",
)

PROMISE = re.compile(
    r"\b(?:(?:le|les|te|se lo|se la|lo|la|les|yo|si|ya|voy a|puedo|podria|quiero|pienso|vamos a"
    r"|me comprometo a|alcanzo a|tengo para|puedo hacer|hago)\s)*(?P<verb>"
    + _PAY_VERB
    + r"|"
    + _GIVE_VERB
    + r")\b"
)
_NEGATION = re.compile(r"\b(?:no|nunca|tampoco|ni|jamas|imposible)\b")
_PROMISE_PHRASES = _words(
    r"(?:hago|hare|haria|hacemos|realizo|voy a hacer|puedo hacer) " + _PAY_ACT,
    r"me comprometo|le (?:tengo|tendria) (?:la plata|el dinero|el pago|lo de)|tengo (?:la plata"
    r"|el dinero) (?:el|para el|manana|hoy|la)|(?:le|les|te) (?:cumplo|quedo bien)"
    r"|cuente con (?:el|ese)"
    r" pago|(?:ok|bueno|listo|dale|va|de acuerdo|esta bien) (?:le|lo|la)? ?(?:pago|cancelo"
    r"|consigno)",
)
# "el pago", "acuerdo de pago": "pago" as a noun is not a promise.
_NOUN_BEFORE = frozenset(
    {"el", "un", "su", "mi", "de", "del", "al", "ese", "este", "otro", "sin", "primer", "ultimo"}
)

ASK_INFO = _words(
    r"quien (?:me |nos )?(?:esta|estan) (?:llamando|hablando|buscando)",
    r"cuantos (?:meses|dias) (?:de atraso|debo|llevo|tengo)|cuanto tiempo (?:de atraso|llevo)"
    r"|cuantas cuotas (?:debo|tengo|van|llevo)",
    r"^(?:y )?(?:que|de que) es (?:esto|eso)$",
    r"cuanto (?:me toca|nos toca|toca|tendria que|tengo que|debo) (?:pagar|abonar|dar)",
    r"(?:que|cual|cuanto) es (?:mi|su|la|el) (?:saldo|monto|valor|deuda|total|cuenta|pendiente)",
    r"(?:por|para) que (?:me |nos |lo |la )?(?:esta|estan|estas) (?:llamando|buscando|marcando)",
    r"cuanto (?:asciende|suma|monta)|a cuanto (?:asciende|llega|sube)",
    r"(?:que|cual) (?:quieren|necesitan|desean|buscan)",
    r"(?:de )?donde (?:sacaron|obtuvieron|consiguieron|tienen) (?:mi|este|mis) (?:numero|telefono"
    r"|datos|celular)",
    r"de que (?:me )?(?:esta|estan|estas) hablando",
    r"(?:que|cuanto) es lo que (?:debo|le debo|les debo|se debe)",
    r"(?:nombre de|como se llama|como dijo que se llama) (?:la|su) (?:empresa|compania|entidad"
    r"|oficina|agencia)",
    r"cuanto (?:es|debo|le debo|les debo|seria|sale|tengo que|hay que|quedo|queda|era|me cobran"
    r"|es lo"
    r" que|estoy debiendo|llevo|me falta|vale|es la deuda|es el saldo|es el total|seria el)",
    r"de parte de quien|quien (?:habla|llama|es|me llama|me habla|lo busca|la busca|los busca"
    r"|son|eres|es usted)|con quien (?:hablo|tengo el gusto)",
    r"(?:que|cual) (?:empresa|compania|banco|entidad|tienda|deuda|cuenta|credito|producto|es el"
    r" motivo|institucion|financiera|almacen|oficina)",
    r"de donde (?:me |nos )?(?:llama|llaman|habla|hablan|es|son|llamas)",
    r"de que (?:se trata|es|empresa|banco|deuda|entidad|me habla|me hablan|es la llamada)",
    r"(?:por|para) que (?:me |nos |lo |la )?(?:llama|llaman|busca|buscan|es|necesita|quiere)",
    r"(?:que|cual) es (?:el|la) (?:saldo|monto|valor|deuda|motivo|total|numero de cuenta)",
    r"(?:donde|(?<!tengo )(?<!hay )como) (?:puedo |le |les )?(?:hago|hacer|realizo|realizar|mando"
    r"|envio) (?:el |la )?"
    r"(?:pago|consignacion|transferencia|deposito|giro)",
    r"a (?:que|cual) cuenta|donde (?:puedo |le |les )?(?:pago|pagar|consigno|consignar|deposito"
    r"|depositar)|(?<!tengo )(?<!hay )como (?:puedo |le |les )?(?:pago|pagar|consigno|consignar"
    r"|hago el pago)"
    r"|que (?:medios|formas) de pago",
    r"(?:que|cual) (?:quiere|necesita|desea)|motivo de (?:la|su) llamada|a nombre de quien"
    r"|(?:desde|hace) cuando (?:debo|es|estoy|tengo|esta|llevo|lo debo)",
    r"(?:cuant[oa]s?|que|de cuanto son los) (?:intereses|interes|recargos|moras)",
    r"(?:me|nos) (?:puede|podria|puedes|pueden) (?:decir|dar|explicar|informar|confirmar)",
)

REPEAT_WHOLE = re.compile(
    r"^(?:(?:eh|ah|alo|perdon|disculpe|disculpa|perdone|como|que|mande|mande usted|que que"
    r"|que dijo|como dijo|como dice|que dice|como es|como fue|que fue|como que|que me dijo"
    r"|como me dijo|que cosa|senorita|senor|oiga|como asi)\s?)+$"
)
REPEAT = _words(
    r"^(?:what|sorry|pardon|excuse me|huh)$|^sorry (?:que|como)",
    r"se (?:escucha|oye) (?:feo|mal|raro|horrible|bajito|entrecortado|cortado)",
    r"se (?:esta |me esta |le esta )?(?:cortando|entrecortando|escuchando mal|oyendo mal"
    r"|perdiendo)",
    r"no (?:alcance|alcanzo) a (?:escuchar|oir|entender|escucharle|oirle|entenderle)",
    r"que (?:me )?(?:esta|estas|estan) diciendo|que me (?:dice|dices)$",
    r"no (?:le |te |les |lo |la )?(?:escuche|entendi|oi|oigo|escucho|entiendo|capte|cache"
    r"|escuchamos)",
    r"repit\w*|repet\w*|(?:otra vez|de nuevo|nuevamente)(?: por favor)?$|mas (?:fuerte|despacio"
    r"|lento|alto)",
    r"no se (?:escucha|oye|entiende)|se (?:corta|entrecorta|escucha mal|oye mal|corto)|que dijo"
    r"|como dijo|me (?:lo )?puede repetir|no le (?:alcance|alcanzo)|hable mas|se escucha muy",
)

AFFIRM = _words(
    r"(?<!no )(?:me parece bien|me parece perfecto|me sirve|me queda bien|me conviene|acepto"
    r"|me funciona|trato hecho|hecho)",
    r"^(?:(?:ah|ay|eh|oh|pues|bueno|ya|a) )?(?:si|sii|sip|sis|claro|correcto|exacto|exactamente"
    r"|afirmativo|efectivamente|por supuesto"
    r"|dale|ok|okey|okay|listo|de acuerdo|vale|simon|aja|sale|va|cierto|eso es|perfecto"
    r"|con gusto|obvio|seguro|en efecto|asi es|bueno|esta bien|ya|yes|ujum|mjm|mhm|ajam|sisi|ya po"
    r"|si po|de una|al toque|hagale|orale|sure|sounds good|chevere|bacano|ya pues|va que va)",
    r"soy yo|(?:con )?(?:el|ella) (?:habla|mism[oa])|(?:el|la|yo) mism[oa]|al habla|a la orden"
    r"|a sus ordenes|digame|diga|decime|dime|servidor|servidora|(?:con|a) (?:el|ella)$|yo soy"
    r"|es correcto"
    r"|si (?:senor|senora|senorita|claro|correcto)|habla con (?:el|ella)|(?:el|ella) habla",
)
DENY = _words(
    r"no estoy de acuerdo|^(?:mmm|mm|eh|pues|bueno|ah) no\b",
    r"^(?:no|nop|nope|nel|negativo|para nada|tampoco|nunca|jamas|de ninguna manera|incorrecto"
    r"|falso|ni modo|no no)",
    r"no es (?:asi|correcto|cierto|verdad)|no soy yo|no es (?:el|ella)|no (?:senor|senora)"
    r"|nada que ver",
)


# "no, así está bien" at a read-back: nothing to change.
FINE_AS_IS = re.compile(r"^(?:no )?(?:asi|asi como esta|eso|todo) (?:esta|queda|quedo) bien$")

UNSURE_PREFIX = re.compile(r"^(?:pues |la verdad |mmm )?no (?:lo |le )?se\b")

# "no sé" is neither a yes nor a no.
UNSURE = re.compile(
    r"^(?:pues |la verdad |mmm )?no (?:lo |le )?se(?: (?:que decir|que decirle|la verdad))?$"
)


@dataclass(frozen=True, slots=True)
class Rule:
    intent: Intent
    pattern: re.Pattern[str]
    confidence: float


# Precedence, strongest first; promises and questions are handled between these.
_BEFORE_PROMISE = (
    Rule(Intent.STOP_CALLING, STOP_CALLING, 0.95),
    Rule(Intent.ALREADY_PAID, ALREADY_PAID, 0.9),
    Rule(Intent.DISPUTE, DISPUTE, 0.9),
    Rule(Intent.THIRD_PARTY, KIN, 0.85),
    Rule(Intent.WRONG_NUMBER, WRONG_NUMBER, 0.9),
    Rule(Intent.AGENT_REQUEST, AGENT_REQUEST, 0.9),
    Rule(Intent.PAYMENT_PLAN_REQUEST, PAYMENT_PLAN, 0.85),
    Rule(Intent.THIRD_PARTY, THIRD_PARTY, 0.85),
)
_AFTER_PROMISE = (
    Rule(Intent.CANNOT_PAY, CANNOT_PAY, 0.85),
    Rule(Intent.CALLBACK_REQUEST, CALLBACK, 0.85),
    Rule(Intent.ASK_INFO, ASK_INFO, 0.8),
    Rule(Intent.REPEAT, REPEAT, 0.8),
)


# Last resort for longer answers no phrase matched: a telling word, weakly held.
_KEYWORDS = (
    Rule(Intent.STOP_CALLING, _words(r"ya basta|acoso|acosando|hostigando|harto|hartos"), 0.5),
    Rule(
        Intent.DISPUTE,
        _words(
            r"prescrit[oa]|prescripcion|prescrib\w*|fraude|estafa|abogado|superintendencia|profeco|condusef"
            r"|indecopi|sernac|reclam\w*|queja|con mis (?:papeles|datos|documentos)|a mi nombre"
        ),
        0.5,
    ),
    Rule(
        Intent.AGENT_REQUEST, _words(r"persona|humano|asesora?|agente|operadora?|ejecutiva?"), 0.5
    ),
    Rule(
        Intent.CANNOT_PAY,
        re.compile(
            r"\b(?:no|sin|ni)\b.*\b(?:plata|dinero|trabajo|empleo|chamba|lana|peso|recursos"
            r"|pagar)\b"
        ),
        0.5,
    ),
    Rule(
        Intent.PAYMENT_PLAN_REQUEST, _words(r"cuota\w*|plazo\w*|partes|chance|(?<!de )acuerdo"), 0.5
    ),
    Rule(
        Intent.CALLBACK_REQUEST,
        _words(r"(?<!se )llam\w+|marc\w+|ocupad[oa]|despues|luego|mas tarde"),
        0.5,
    ),
    Rule(Intent.REPEAT, _words(r"ruido|no (?:\w+ )?(?:escuch\w*|oigo|oye|entiendo|entendi)"), 0.5),
    Rule(
        Intent.ASK_INFO,
        re.compile(r"^(?:y |pero )?(?:cuanto|quien|cual|donde|por que|de que)\b"),
        0.5,
    ),
)


def _promises(text: str) -> bool:
    """A pay verb that no nearby negation undoes: "le pago el viernes", not "no puedo pagar"."""
    if _PROMISE_PHRASES.search(text):
        return True
    for match in PROMISE.finditer(text):
        start = match.start()
        preceding = text[:start].split()[-1:]
        if match.group("verb") == "pago" and preceding and preceding[0] in _NOUN_BEFORE:
            continue
        # Negation reaches a few words: "no le puedo pagar", "no voy a poder pagar",
        # but not "no se preocupe que el quince le pago".
        window = " ".join(text[:start].split()[-5:])
        clause = re.split(r"\b(?:pero|y|sino|aunque|entonces|mejor|que)\b", window)[-1]
        if _NEGATION.search(window) and re.search(r"\bno (?:creo )?que\b", window):
            clause = window  # "no creo que pueda pagar"
        if not _NEGATION.search(clause) and not _NEGATION.search(match.group(0)):
            return True
    return False


def classify(
    text: str, *, has_amount: bool, has_date: bool, has_time: bool = False
) -> tuple[Intent, float]:
    """The intent of normalized text, and how sure the patterns are."""
    if not text:
        return Intent.UNKNOWN, 0.0
    for rule in _BEFORE_PROMISE:
        if rule.pattern.search(text):
            return rule.intent, rule.confidence
    if REPEAT_WHOLE.match(text):
        return Intent.REPEAT, 0.8
    if ASK_INFO.search(text) and not has_amount and not has_date:
        return Intent.ASK_INFO, 0.8
    promised = _promises(text)
    if promised and (has_amount or has_date or not CANNOT_PAY.search(text)):
        # "no tengo plata, pero el viernes le pago cincuenta" is still a promise.
        return Intent.PROMISE_TO_PAY, 0.85 if (has_amount or has_date) else 0.75
    for rule in _AFTER_PROMISE:
        if rule.pattern.search(text):
            return rule.intent, rule.confidence
    if has_time and not has_amount:
        # A bare "mañana en la tarde" or "a las tres" answers "when can we call you".
        return Intent.CALLBACK_REQUEST, 0.6
    countered = re.search(r"\b(?:mejor|pero|sino)\b", text)  # "no, mejor el lunes"
    unsure = UNSURE_PREFIX.sub("", text)  # "no sé, a fin de mes" is an answer, not a no
    if (has_amount or has_date) and (countered or not _NEGATION.search(unsure)):
        # A bare "cien mil" or "el viernes" answers "how much / when can you pay".
        return Intent.PROMISE_TO_PAY, 0.6
    if UNSURE.match(text):
        return Intent.UNKNOWN, 0.4
    if FINE_AS_IS.match(text):
        return Intent.AFFIRM, 0.8
    short = len(text.split()) <= 3
    if short and DENY.search(text):
        return Intent.DENY, 0.8
    if short and AFFIRM.search(text):
        return Intent.AFFIRM, 0.8
    for rule in _KEYWORDS:
        if rule.pattern.search(text):
            return rule.intent, rule.confidence
    if DENY.search(text):
        return Intent.DENY, 0.7
    if AFFIRM.search(text):
        return Intent.AFFIRM, 0.7
    return Intent.UNKNOWN, 0.3
