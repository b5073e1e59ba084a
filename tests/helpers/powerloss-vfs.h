/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * An SQLite VFS for tests that models a power cut: it passes everything
 * to the OS VFS, and at every xSync of the main database or its WAL it
 * copies the file, as it is at that moment, to "<file>.synced". Those
 * copies are exactly what a disk that honours fsync would still hold
 * after the power went out: anything written but not synced is lost.
 */
void fc_test_powerloss_vfs_register (void);
