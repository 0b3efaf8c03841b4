// SPDX-License-Identifier: Apache-2.0
/*
 * src/sim/commands.h - the list of ota-sim subcommands (an X-macro table).
 * Adding a command = one cmd_<name>.c file defining
 * `int sim_cmd_<name>(int argc, char **argv)` + one line here.
 * Keep it free of include guards: main.c and sim_cli.h include it with
 * different definitions of SIM_COMMAND.
 */
SIM_COMMAND(create, "make a new simulated device (flash file): bootloader, state, OTP")
SIM_COMMAND(install, "write a signed image into the inactive slot and mark it pending")
SIM_COMMAND(boot, "reset the device: stage 0 + bootloader; print what runs")
SIM_COMMAND(confirm, "the running firmware confirms itself (ends the trial, raises OTP)")
SIM_COMMAND(status, "show slots, versions, boot state, OTP counter and wear")
SIM_COMMAND(run, "run the device: boot, run its firmware + ota-agent, reboot on updates")
