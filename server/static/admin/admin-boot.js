// Before the first paint (a classic script in <head>, so it runs first): a tab that kept its
// admin token starts on the signed-in layout, so nothing jumps when admin.js confirms it.
if (sessionStorage.getItem("ctb.admin_token")) document.documentElement.classList.add("has-token");
