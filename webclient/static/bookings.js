// The bookings table's page (GET /bookings): its Copy buttons copy a
// calendar feed's address. The page works without this script (the
// address can be selected and copied by hand).

for (const button of document.querySelectorAll("button[data-copy]")) {
    button.addEventListener("click", async () => {
        const input = document.getElementById(button.dataset.copy);
        if (!input) return;
        try {
            await navigator.clipboard.writeText(input.value);
            button.textContent = "Copied";
        } catch {
            input.focus();
            input.select();
            button.textContent = "Press Ctrl+C";
        }
        setTimeout(() => { button.textContent = "Copy"; }, 2500);
    });
}
