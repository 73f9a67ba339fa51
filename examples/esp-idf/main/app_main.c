/* ESP-IDF entry point: connect Wi-Fi (protocol_examples_common, set in menuconfig), set the
 * clock with SNTP, then run the NoMQ sensor and the MQTT client with the values chosen in
 * menuconfig (Kconfig.projbuild). */
#include "esp_event.h"
#include "esp_log.h"
#include "esp_netif.h"
#include "esp_netif_sntp.h"
#include "nvs_flash.h"
#include "protocol_examples_common.h"

#include "platform.h"

/* The NoMQ config file text (`nomq keygen`), embedded at build time. */
extern const char nomq_config_start[] asm("_binary_nomq_config_txt_start");

void app_main(void) {
    ESP_ERROR_CHECK(nvs_flash_init());
    ESP_ERROR_CHECK(esp_netif_init());
    ESP_ERROR_CHECK(esp_event_loop_create_default());
    ESP_ERROR_CHECK(example_connect());
    esp_sntp_config_t sntp = ESP_NETIF_SNTP_DEFAULT_CONFIG("pool.ntp.org");
    esp_netif_sntp_init(&sntp);
    esp_netif_sntp_sync_wait(pdMS_TO_TICKS(15000));
    ESP_LOGI("nomq", "nomq %s", nomq_version());
    sensor_publisher_run(nomq_config_start, CONFIG_NOMQ_PEER_IP, CONFIG_NOMQ_PEER_PORT, 10);
    mqtt_client_run(CONFIG_NOMQ_MQTT_BROKER_IP, CONFIG_NOMQ_MQTT_BROKER_PORT, "esp32-sensor", 10);
}
