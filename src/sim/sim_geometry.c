// SPDX-License-Identifier: Apache-2.0
/*
 * sim_geometry.c - the named flash geometries the simulator offers, chosen
 * to match the parts ota's users ship on (uniform sectors; chips with mixed
 * sector sizes are modelled by their dominant sector size).
 */
#include <string.h>

#include "ota/sim.h"

static const struct ota_sim_geometry GEOMETRIES[] = {
    {"generic-4k", "4 KiB sectors, 8-byte program unit with ECC (double-word programming, STM32L4/G4-style)",
     1, 8, 4096, 256},
    {"nrf52", "4 KiB pages, 4-byte word program (nRF52840), 1 MiB", 1, 4, 4096, 256},
    {"stm32f4", "128 KiB sectors, 4-byte program (STM32F4 main sectors), 2 MiB", 1, 4,
     131072, 16},
    {"spi-nor", "4 KiB sectors, byte program (W25Q-class SPI NOR), 2 MiB", 1, 1, 4096, 512},
};

size_t ota_sim_geometry_count(void)
{
    return sizeof GEOMETRIES / sizeof GEOMETRIES[0];
}

const struct ota_sim_geometry *ota_sim_geometry_at(size_t i)
{
    return i < ota_sim_geometry_count() ? &GEOMETRIES[i] : NULL;
}

const struct ota_sim_geometry *ota_sim_geometry_find(const char *name)
{
    size_t i;
    if (!name)
        return NULL;
    for (i = 0; i < ota_sim_geometry_count(); i++)
        if (strcmp(GEOMETRIES[i].name, name) == 0)
            return &GEOMETRIES[i];
    return NULL;
}
