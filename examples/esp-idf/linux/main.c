/* Runs the ESP-IDF example's code on Linux (POSIX sockets stand in for lwIP), so CI compiles
 * and runs the same C files:
 *   esp_example sensor CONFIG_FILE IP PORT READINGS
 *   esp_example mqtt BROKER_IP PORT CLIENT_ID MESSAGES */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../main/platform.h"

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* line by line, as on the ESP-IDF console */
    if (argc == 6 && strcmp(argv[1], "sensor") == 0) {
        FILE *f = fopen(argv[2], "r");
        if (!f) {
            perror(argv[2]);
            return 2;
        }
        static char text[1024];
        size_t n = fread(text, 1, sizeof text - 1, f);
        fclose(f);
        text[n] = 0;
        return sensor_publisher_run(text, argv[3], (uint16_t)atoi(argv[4]), atoi(argv[5]));
    }
    if (argc == 6 && strcmp(argv[1], "mqtt") == 0) {
        return mqtt_client_run(argv[2], (uint16_t)atoi(argv[3]), argv[4], atoi(argv[5]));
    }
    fprintf(stderr, "usage: %s sensor CONFIG IP PORT N | mqtt BROKER_IP PORT CLIENT_ID N\n", argv[0]);
    return 2;
}
