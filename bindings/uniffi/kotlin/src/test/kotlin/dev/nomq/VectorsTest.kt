package dev.nomq

import dev.nomq.core.Version
import org.json.JSONObject
import java.io.File
import kotlin.reflect.KClass
import kotlin.test.Test
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith

/** The reference's captures (tests/vectors), byte for byte, through the Kotlin bindings. */
class VectorsTest {
    private fun load(name: String) = JSONObject(File(Env.vectors, name).readText())

    /** A codec under the vector's keys (each v1 vector repeats them; v2 has them once). */
    private fun codec(doc: JSONObject, v: JSONObject, version: Version) = Codec(
        hex(v.optString("encryption_key", doc.getString("encryption_key"))),
        hex(v.optString("hmac_key", doc.getString("hmac_key"))),
        version,
    )

    /** A time in milliseconds: v1 vectors give whole seconds under `key`, v2 milliseconds under `key_ms`. */
    private fun millis(v: JSONObject, key: String, secondsOnWire: Boolean) =
        if (secondsOnWire) v.getLong(key) * 1000 else v.getLong("${key}_ms")

    private fun checkPositive(version: Version, file: String, secondsOnWire: Boolean) {
        val doc = load(file)
        val vectors = doc.getJSONArray("vectors")
        for (i in 0 until vectors.length()) {
            val v = vectors.getJSONObject(i)
            codec(doc, v, version).use { codec ->
                val timestampMs = millis(v, "timestamp", secondsOnWire)
                val receiverMs = millis(v, "receiver_time", secondsOnWire)
                val parts = PacketParts(
                    kind = v.getInt("type").toUByte(),
                    channelId = hex(v.getString("channel_id")),
                    body = hex(v.getString("plaintext")),
                    flags = v.getInt("flags").toUByte(),
                    packetId = v.getLong("packet_id").toUInt(),
                    sessionId = v.getLong("session_id").toUInt(),
                    ttl = v.getInt("ttl").toUShort(),
                    timestampMs = timestampMs.toULong(),
                    iv = hex(v.getString("iv")),
                )
                val name = v.getString("name")
                assertEquals(v.getString("packet"), codec.seal(parts).toHex(), "$file $name: sealed bytes")
                val opened = codec.open(hex(v.getString("packet")), receiverMs.toULong())
                assertEquals(v.getInt("type").toUByte(), opened.kind, "$file $name: kind")
                assertEquals(v.getLong("packet_id").toUInt(), opened.packetId, "$file $name: packet id")
                if (v.getInt("type") != 1 || version == Version.V2) {
                    assertContentEquals(hex(v.getString("plaintext")), opened.payload, "$file $name: plaintext")
                }
                if (v.getInt("type") != 5) {
                    assertEquals(v.getString("channel_id"), codec.channelId(v.getString("channel")).toHex(), "$file $name: channel id")
                }
            }
        }
    }

    private fun checkNegative(version: Version, file: String, secondsOnWire: Boolean, classes: Map<String, KClass<out NomqException>>) {
        val doc = load(file)
        val negative = doc.getJSONArray("negative")
        for (i in 0 until negative.length()) {
            val v = negative.getJSONObject(i)
            val receiverMs = millis(v, "receiver_time", secondsOnWire)
            val reason = v.getJSONObject("expected").getString("reason")
            val expected = classes[reason] ?: error("$file: no exception class for reason $reason")
            codec(doc, v, version).use { codec ->
                assertFailsWith(expected, "$file ${v.getString("name")}") {
                    codec.open(hex(v.getString("packet")), receiverMs.toULong())
                }
            }
        }
    }

    @Test
    fun v1VectorsSealAndOpenByteForByte() = checkPositive(Version.V1, "nomq-v1.json", secondsOnWire = true)

    @Test
    fun v2VectorsSealAndOpenByteForByte() = checkPositive(Version.V2, "nomq-v2.json", secondsOnWire = false)

    @Test
    fun v1NegativeVectorsRaiseTheirTypedException() = checkNegative(
        Version.V1, "nomq-v1.json", secondsOnWire = true,
        mapOf(
            "bad_magic" to NomqException.Malformed::class,
            "too_short" to NomqException.Malformed::class,
            "length_mismatch" to NomqException.Malformed::class,
            "bad_version" to NomqException.UnsupportedVersion::class,
            "bad_trailer" to NomqException.AuthFailed::class,
            "bad_padding" to NomqException.AuthFailed::class,
            "stale_timestamp" to NomqException.Stale::class,
        ),
    )

    @Test
    fun v2NegativeVectorsRaiseTheirTypedException() = checkNegative(
        Version.V2, "nomq-v2.json", secondsOnWire = false,
        mapOf(
            "malformed" to NomqException.Malformed::class,
            "unsupported_version" to NomqException.UnsupportedVersion::class,
            "auth_failed" to NomqException.AuthFailed::class,
            "stale" to NomqException.Stale::class,
        ),
    )

    @Test
    fun theReferencesConfigFileReads() {
        val example = load("nomq-v1.json").getJSONObject("config_example")
        val plain = JSONObject(example.getString("json_plaintext"))
        val config = readConfig(example.getString("file_text"))
        assertEquals(plain.getString("ip"), config.ip)
        assertEquals(plain.getInt("port").toUShort(), config.port)
        assertEquals(plain.getString("encryption_key"), config.encryptionKey.toHex())
        val back = readConfig(writeConfig(config))
        assertEquals(config.ip, back.ip, "written and read back")
        assertEquals(config.port, back.port)
        assertContentEquals(config.encryptionKey, back.encryptionKey)
        assertContentEquals(config.hmacKey, back.hmacKey)
        assertFailsWith<NomqException.ConfigInvalid> { readConfig("not base64 !!!") }
    }

    @Test
    fun v1ChannelIdsAreTheReferences() {
        val v = load("nomq-v1.json").getJSONArray("vectors").getJSONObject(0)
        assertEquals(v.getString("channel_id"), v1ChannelId(v.getString("channel")).toHex())
    }
}
