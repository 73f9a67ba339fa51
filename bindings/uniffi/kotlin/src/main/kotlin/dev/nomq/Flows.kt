// Kotlin conveniences over the generated bindings (target/generated-sources/uniffi).
package dev.nomq

import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.flow

/**
 * The client's messages as a Flow; it completes after `disconnect`. Collectors take from the
 * one queue `recv` reads (two collectors split the messages); cancelling a collector loses
 * nothing that was not emitted.
 */
fun MqttClient.messages(): Flow<MqttMessage> = flow {
    while (true) emit(recv() ?: break)
}

/** The node's messages as a Flow; it completes after `shutdown`. As [MqttClient.messages]. */
fun NomqNode.messages(): Flow<NodeMessage> = flow {
    while (true) emit(recv() ?: break)
}
