/* placeholder replaced by the serve command */
int main(void) { return 0; }
