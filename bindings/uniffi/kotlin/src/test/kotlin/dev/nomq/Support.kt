package dev.nomq

import java.io.File
import java.net.DatagramSocket
import java.util.concurrent.TimeUnit
import kotlin.test.fail

/** What the test script (scripts/test-kotlin.sh) provides: peers and data, by environment. */
object Env {
    private fun need(name: String): String =
        System.getenv(name) ?: fail("$name is not set: run the Kotlin tests through scripts/test-kotlin.sh")

    val root: File get() = File(need("NOMQ_ROOT"))
    val vectors: File get() = File(root, "tests/vectors")
    val mqttPort: UShort get() = need("MQTT_PORT").toUShort()
    val mqttTlsPort: UShort get() = need("MQTT_TLS_PORT").toUShort()
    val caPem: ByteArray get() = File(need("MQTT_CA_PEM")).readBytes()
    val mosquittoDir: String get() = need("MOSQUITTO_DIR")
    val cli: String get() = need("NOMQ_CLI")

    /** A fresh suffix, so topics and client ids of one run never meet another's. */
    val run: String = java.lang.Long.toHexString(System.nanoTime())

    /** Restarts the test broker (same port, same persistence), as a crash and recovery. */
    fun restartBroker() {
        val p = ProcessBuilder("python3", File(root, "tests/support/mosquitto.py").path, "restart", mosquittoDir)
            .inheritIO().start()
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) fail("mosquitto did not restart")
    }
}

fun hex(s: String): ByteArray = ByteArray(s.length / 2) { s.substring(2 * it, 2 * it + 2).toInt(16).toByte() }

fun ByteArray.toHex(): String = joinToString("") { "%02x".format(it) }

/** A UDP port nobody uses right now. */
fun freeUdpPort(): Int = DatagramSocket(0).use { it.localPort }

/** Runs the nomq CLI in the background; its standard output is collected. */
class Cli(vararg args: String) : AutoCloseable {
    private val process: Process = ProcessBuilder(listOf(Env.cli) + args).redirectErrorStream(true).start()
    private val out = StringBuilder()
    private val reader = Thread {
        process.inputStream.bufferedReader().forEachLine { synchronized(out) { out.appendLine(it) } }
    }.apply { isDaemon = true; start() }

    /** Waits for the command to end; its exit status. */
    fun finish(seconds: Long = 30): Int {
        if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
            process.destroyForcibly()
            fail("nomq ${process.info().arguments().orElse(emptyArray()).joinToString(" ")} did not finish:\n${output()}")
        }
        reader.join(5000)
        return process.exitValue()
    }

    fun output(): String = synchronized(out) { out.toString() }

    override fun close() {
        process.destroy()
    }
}
