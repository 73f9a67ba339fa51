package dev.nomq

import dev.nomq.core.NodePublishOutcome
import dev.nomq.core.Qos
import dev.nomq.core.Version
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeoutOrNull
import java.io.File
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue

/** A Kotlin NoMQ node and the Rust `nomq` CLI over UDP on loopback, both ways, v1 and v2. */
class NodeTest {
    // The CLI's default keys are public demo keys; the test gives both sides its own.
    private val enc = ByteArray(32) { (it * 7).toByte() }
    private val mac = ByteArray(32) { (it * 11 + 3).toByte() }

    private fun configFile(): String {
        val f = File.createTempFile("nomq-kt-", ".json")
        f.deleteOnExit()
        f.writeText("""{"encryption_key": "${enc.toHex()}", "hmac_key": "${mac.toHex()}"}""")
        return f.path
    }

    private fun node(version: Version) = runBlocking {
        NomqNode.bind(NodeOptions(encryptionKey = enc, hmacKey = mac, bind = "127.0.0.1:0", version = version))
    }

    @Test
    fun kotlinPublishesToTheCliAtQos012() {
        for (version in listOf(Version.V1, Version.V2)) {
            val port = freeUdpPort()
            val v2 = if (version == Version.V2) arrayOf("--v2") else emptyArray()
            Cli("sub", "--bind", "127.0.0.1:$port", "--channel", "kt/cli", "--count", "3", "--seconds", "20",
                "--config", configFile(), *v2).use { cli ->
                Thread.sleep(300) // the CLI binds
                val n = node(version)
                runBlocking {
                    // QoS 1 first: retransmitted until the CLI, still starting, has bound.
                    for (qos in listOf(Qos.AT_LEAST_ONCE, Qos.AT_MOST_ONCE, Qos.EXACTLY_ONCE)) {
                        val outcome = n.publish("127.0.0.1:$port", "kt/cli", "hello q${qos.ordinal}".toByteArray(), qos, false, 30u)
                        val expected = if (qos == Qos.AT_MOST_ONCE) NodePublishOutcome.SENT else NodePublishOutcome.CONFIRMED
                        assertEquals(expected, outcome, "$version QoS $qos")
                    }
                }
                assertEquals(0, cli.finish(), "$version: the CLI got 3 messages:\n${cli.output()}")
                for (q in 0..2) assertTrue("hello q$q" in cli.output(), "$version: q$q in ${cli.output()}")
                runBlocking { n.shutdown() }
                n.close()
            }
        }
    }

    @Test
    fun theCliPublishesToKotlinAtQos012() {
        for (version in listOf(Version.V1, Version.V2)) {
            val n = node(version)
            runBlocking { n.subscribe("kt/node") }
            val v2 = if (version == Version.V2) arrayOf("--v2") else emptyArray()
            for (qos in 0..2) {
                Cli("pub", "--to", n.localAddr(), "--channel", "kt/node", "--qos", "$qos", "--config", configFile(),
                    *v2, "from cli q$qos").use { cli ->
                    assertEquals(0, cli.finish(), "$version: CLI pub QoS $qos:\n${cli.output()}")
                }
            }
            val got = runBlocking {
                val got = mutableListOf<NodeMessage>()
                withTimeoutOrNull(10_000) { while (got.size < 3) got += n.recv() ?: break }
                got
            }
            assertEquals((0..2).map { "from cli q$it" }, got.map { String(it.payload) }, "$version")
            assertEquals(listOf(Qos.AT_MOST_ONCE, Qos.AT_LEAST_ONCE, Qos.EXACTLY_ONCE), got.map { it.qos })
            runBlocking {
                val stats = n.stats()
                assertEquals(3uL, stats.delivered)
                n.shutdown()
            }
            n.close()
        }
    }

    @Test
    fun wrongKeysAndBadOptionsRaiseTypedExceptions() {
        val e = assertFailsWith<NomqException.InvalidArgument> {
            runBlocking { NomqNode.bind(NodeOptions(encryptionKey = ByteArray(16), hmacKey = mac, bind = "127.0.0.1:0")) }
        }
        assertTrue("encryption_key" in e.detail)
        assertFailsWith<NomqException.InvalidArgument> {
            runBlocking { NomqNode.bind(NodeOptions(encryptionKey = enc, hmacKey = mac, bind = "not an address")) }
        }
        // A node with other keys refuses the datagrams; the publisher's QoS 1 then expires.
        val receiver = node(Version.V2)
        val other = runBlocking {
            NomqNode.bind(NodeOptions(encryptionKey = mac, hmacKey = enc, bind = "127.0.0.1:0", version = Version.V2))
        }
        runBlocking {
            receiver.subscribe("kt/keys")
            assertFailsWith<NomqException.Expired> {
                other.publish(receiver.localAddr(), "kt/keys", "x".toByteArray(), Qos.AT_LEAST_ONCE, false, 1u)
            }
            assertTrue(receiver.stats().rejectedAuth > 0uL, "the receiver counted the refusals")
            receiver.shutdown()
            other.shutdown()
            assertTrue(receiver.isClosed())
            assertEquals(null, receiver.recv())
        }
    }
}
