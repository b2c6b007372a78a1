/* Placeholder so a module with no sources yet still forms a library. */
typedef int otelprofd_empty_translation_unit;
