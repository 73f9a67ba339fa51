// nomq from Kotlin: an MQTT round trip at QoS 1 and 2 against a broker, then two NoMQ nodes
// exchanging a QoS 2 message on loopback.
//
//   mvn package exec:java -Dexec.args="127.0.0.1 1883"
package dev.nomq.examples

import dev.nomq.MqttClient
import dev.nomq.MqttOptions
import dev.nomq.NodeOptions
import dev.nomq.NomqException
import dev.nomq.NomqNode
import dev.nomq.core.Qos
import dev.nomq.core.Version
import dev.nomq.nomqVersion
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlin.system.exitProcess

fun main(args: Array<String>): Unit = runBlocking {
    val host = args.getOrElse(0) { "127.0.0.1" }
    val port = args.getOrElse(1) { "1883" }.toUShort()
    println("nomq ${nomqVersion()}")

    // MQTT: publish resolves when the broker confirmed (PUBACK for QoS 1, PUBCOMP for QoS 2).
    val client = try {
        MqttClient.connect(MqttOptions(host = host, port = port, clientId = "nomq-kotlin-example"))
    } catch (e: NomqException) {
        System.err.println("could not connect to $host:$port: ${e.message}")
        exitProcess(1)
    }
    client.subscribe("nomq/example", Qos.EXACTLY_ONCE)
    for (qos in listOf(Qos.AT_LEAST_ONCE, Qos.EXACTLY_ONCE)) {
        val outcome = client.publish("nomq/example", "hello at $qos".toByteArray(), qos, false)
        val echo = withTimeout(5_000) { client.recv() }!!
        println("mqtt: $outcome, received '${String(echo.payload)}' (${echo.qos})")
    }
    client.disconnect()
    client.close()

    // NoMQ: brokerless and encrypted; both nodes share the group keys.
    val keys = NodeOptions(encryptionKey = ByteArray(32) { it.toByte() }, hmacKey = ByteArray(32) { (it + 32).toByte() },
        bind = "127.0.0.1:0", version = Version.V2)
    val a = NomqNode.bind(keys)
    val b = NomqNode.bind(keys)
    b.subscribe("sensors/temp")
    val outcome = a.publish(b.localAddr(), "sensors/temp", "21.5".toByteArray(), Qos.EXACTLY_ONCE, false, 30u)
    val m = withTimeout(5_000) { b.recv() }!!
    println("nomq: $outcome, ${m.channel} = ${String(m.payload)} from ${m.from}")
    a.shutdown()
    b.shutdown()
}
