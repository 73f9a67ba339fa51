package dev.nomq

import dev.nomq.core.Qos
import dev.nomq.core.Version
import kotlin.test.Test
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNotNull
import kotlin.test.assertTrue

/** Framing round trips and bad input, each as its typed exception, with the codec usable after. */
class FramingTest {
    private val enc = ByteArray(32) { it.toByte() }
    private val mac = ByteArray(32) { (0xA0 + it).toByte() }

    private fun stillWorks(codec: Codec) {
        val d = codec.sealPublish("sensors/t", "21.5".toByteArray(), Qos.AT_LEAST_ONCE, false, null)
        assertContentEquals("21.5".toByteArray(), codec.open(d, null).payload)
    }

    @Test
    fun v1AndV2RoundTrips() {
        for (version in listOf(Version.V1, Version.V2)) {
            Codec(enc, mac, version).use { codec ->
                assertEquals(version, codec.version())
                val d = codec.sealPublish("sensors/temp", "21.5".toByteArray(), Qos.EXACTLY_ONCE, true, null)
                val p = codec.open(d, null)
                assertEquals(Qos.EXACTLY_ONCE, p.qos)
                assertTrue(p.retain)
                assertContentEquals("21.5".toByteArray(), p.payload)
                assertContentEquals(codec.channelId("sensors/temp"), p.channelId)
                if (version == Version.V1) assertEquals("21.5", p.text)
            }
        }
        Codec(enc, mac, Version.V2).use { codec ->
            val binary = ByteArray(1024) { it.toByte() }
            assertContentEquals(binary, codec.open(codec.sealPublish("c", binary, Qos.AT_MOST_ONCE, false, null), null).payload)
        }
        assertTrue(Regex("""\d+\.\d+\.\d+""").matches(nomqVersion()), nomqVersion())
    }

    @Test
    fun badInputRaisesTypedExceptionsAndTheCodecGoesOn() {
        val e = assertFailsWith<NomqException.InvalidArgument> { Codec(enc.copyOf(31), mac, Version.V1) }
        assertTrue("encryption_key must be 32 bytes, got 31" in e.detail, e.detail)
        assertEquals(101u, e.code)
        Codec(enc, mac, Version.V1).use { codec ->
            val d = codec.sealPublish("c", "x".toByteArray(), Qos.AT_LEAST_ONCE, false, null)
            Codec(mac, enc, Version.V1).use { wrong ->
                assertFailsWith<NomqException.AuthFailed>("wrong keys") { wrong.open(d, null) }
            }
            val tampered = d.copyOf().also { it[it.size - 1] = (it[it.size - 1].toInt() xor 1).toByte() }
            assertFailsWith<NomqException.AuthFailed>("tampered") { codec.open(tampered, null) }
            assertFailsWith<NomqException.Stale>("stale") { codec.open(d, 0uL) }
            assertFailsWith<NomqException.Malformed>("short") { codec.open(ByteArray(10), null) }
            assertFailsWith<NomqException.PayloadTooLarge>("oversize v1") {
                codec.sealPublish("c", ByteArray(70_000) { 'a'.code.toByte() }, Qos.AT_LEAST_ONCE, false, null)
            }
            assertFailsWith<NomqException.NotText>("v1 is text") {
                codec.sealPublish("c", byteArrayOf(0xff.toByte(), 0xfe.toByte()), Qos.AT_LEAST_ONCE, false, null)
            }
            val badParts = PacketParts(kind = 1u, channelId = ByteArray(3))
            val bad = assertFailsWith<NomqException.InvalidArgument> { codec.seal(badParts) }
            assertNotNull(bad.message)
            assertFailsWith<NomqException.InvalidArgument>("kind 9") { codec.seal(PacketParts(kind = 9u, channelId = ByteArray(16))) }
            stillWorks(codec)
        }
    }
}
