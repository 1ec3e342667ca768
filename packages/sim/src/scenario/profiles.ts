/** Kernel profiles of @kmodel/mm: which page-table reclaim the kernel itself does. */
export const KERNEL_PROFILES = ['linux-6.18', 'linux-6.13'] as const;
/** A kernel profile name. */
export type KernelProfile = (typeof KERNEL_PROFILES)[number];
