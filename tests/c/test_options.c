/* MQTT session options: each case of tests/cases/mqtt_options.txt (argv[1]) applied to
 * nomq_mqtt_session_new must give the error kind the case names, the same kind the Python
 * client reports for it (tests/python/test_options.py). */
#include "nomq_test.h"

/* Sets one option from its text; 0 when the name is unknown. Strings stay in `value`. */
static int apply(nomq_mqtt_config *c, const char *name, char *value) {
    unsigned long long n = strtoull(value, NULL, 10);
    if (!strcmp(name, "version")) c->version = (uint8_t)n;
    else if (!strcmp(name, "max_inflight")) c->max_inflight = (uint16_t)n;
    else if (!strcmp(name, "max_outbox_messages")) c->max_outbox_messages = (size_t)n;
    else if (!strcmp(name, "max_outbox_bytes")) c->max_outbox_bytes = (size_t)n;
    else if (!strcmp(name, "max_packet_size")) c->max_packet_size = (uint32_t)n;
    else if (!strcmp(name, "connect_timeout_ms")) c->connect_timeout_ms = n;
    else if (!strcmp(name, "reconnect")) c->reconnect = n != 0;
    else if (!strcmp(name, "reconnect_initial_ms")) c->reconnect_initial_ms = n;
    else if (!strcmp(name, "reconnect_max_ms")) c->reconnect_max_ms = n;
    else if (!strcmp(name, "session_expiry")) c->session_expiry = (uint32_t)n;
    else if (!strcmp(name, "auth_method")) c->auth_method = value;
    else if (!strcmp(name, "client_id")) c->client_id = value;
    else if (!strcmp(name, "clean_start")) c->clean_start = n != 0;
    else if (!strcmp(name, "username")) c->username = value;
    else if (!strcmp(name, "password")) {
        c->password = (const uint8_t *)value;
        c->password_len = strlen(value);
    } else if (!strcmp(name, "will_topic")) c->will_topic = value;
    else if (!strcmp(name, "will_qos")) c->will_qos = (uint8_t)n;
    else if (!strcmp(name, "keep_alive")) c->keep_alive = (uint16_t)n;
    else return 0;
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s tests/cases/mqtt_options.txt\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[1], "r");
    if (!f) {
        perror(argv[1]);
        return 2;
    }
    char line[512];
    int cases = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n') continue;
        char *arrow = strstr(line, "->");
        CHECK(arrow != NULL);
        if (!arrow) continue;
        *arrow = '\0';
        unsigned expected = (unsigned)strtoul(arrow + 2, NULL, 10);
        char text[512];
        snprintf(text, sizeof text, "%s", line);
        nomq_mqtt_config cfg;
        CHECK_OK(nomq_mqtt_config_init(&cfg));
        cfg.client_id = "options";
        char *save = NULL;
        for (char *tok = strtok_r(line, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
            char *eq = strchr(tok, '=');
            CHECK(eq != NULL);
            if (!eq) continue;
            *eq = '\0';
            if (!apply(&cfg, tok, eq + 1)) {
                fprintf(stderr, "unknown option %s\n", tok);
                failures++;
            }
        }
        nomq_mqtt_session *s = NULL;
        nomq_result r = nomq_mqtt_session_new(&cfg, fill_random, NULL, &s);
        if ((unsigned)r != expected) {
            fprintf(stderr, "case '%s': got %u (%s), expected %u\n", text, (unsigned)r, nomq_result_str(r), expected);
            failures++;
        }
        CHECK((r == NOMQ_RESULT_OK) == (s != NULL));
        nomq_mqtt_session_free(s);
        cases++;
    }
    fclose(f);
    CHECK(cases >= 20);
    printf("test_options: %d cases\n", cases);
    return failures ? 1 : 0;
}
